/**
 * Searching a database's bytes for secrets: the file and everything beside it (WAL, shared
 * memory) as read from disk, and a plain byte-sequence search.
 */

/** Whether `needle` occurs in `haystack`. */
export function bytesContain(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  for (let i = haystack.indexOf(first); i !== -1; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return false;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/** The bytes of `dir/citadel.db` and of every file beside it (WAL, shared memory), by name. */
export async function databaseFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.startsWith("citadel.db")) {
      files.set(entry.name, await Deno.readFile(`${dir}/${entry.name}`));
    }
  }
  return files;
}
