/**
 * Whether anything exists at a path, telling not-found apart from every other error.
 * @module
 */

/** True when something (a file, directory or link) exists at `path`; other errors propagate. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
