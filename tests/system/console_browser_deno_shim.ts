/**
 * Imported before playwright-core: under Deno's granular permissions (`deno task test:system`
 * grants --allow-read, not --allow-all) `existsSync` of a /proc/sys path throws NotCapable
 * instead of answering, and playwright-core asks for /proc/sys/fs/binfmt_misc/WSLInterop when
 * it loads (is this WSL?). Here such a path does not exist for it, as on any non-WSL Linux.
 */
import fs from "node:fs";

const existsSync = fs.existsSync;
fs.existsSync = function existsSyncOrFalse(path: fs.PathLike): boolean {
  try {
    return existsSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
};
