/**
 * Whether a write failed on a unique index (libSQL and D1: "UNIQUE constraint failed";
 * PostgreSQL: "duplicate key value violates unique constraint"): another writer got there
 * first.
 * @module
 */
export function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error
    ? `${error.message} ${String(error.cause ?? "")}`
    : String(error);
  return /UNIQUE constraint failed|duplicate key value violates unique constraint/i.test(text);
}
