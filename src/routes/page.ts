/**
 * Cursor pagination of the admin listings: a route asks its service for one row more
 * than the page holds, and the extra row only says whether a next page exists.
 */

/** The first `limit` rows, and the cursor of the last one when more rows followed. */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? cursorOf(page[page.length - 1]) : null };
}
