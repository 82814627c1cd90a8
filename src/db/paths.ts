/**
 * Path text helpers for database locations (directory part, `file:` URL to path), for POSIX
 * and Windows separators.
 * @module
 */

/** Directory part of a path (POSIX and Windows separators). */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (i < 0) return ".";
  return i === 0 ? path[0] : path.slice(0, i);
}

/** The path of a file: URL with an authority part (file:///x). */
export function fromFileUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
}
