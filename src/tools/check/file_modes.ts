/**
 * File permission helpers for the `citadel check` file findings.
 */
import type { Detail, FileFacts } from "./types.ts";

/** True when the file exists and grants more than `allowed` (e.g. 0o600) to anyone. */
export function widerThan(file: FileFacts, allowed: number): boolean {
  return file.exists && file.mode !== undefined && (file.mode & 0o777 & ~allowed) !== 0;
}

/** True when group or others may write the file. */
export function writableByOthers(file: FileFacts): boolean {
  return file.exists && file.mode !== undefined && (file.mode & 0o022) !== 0;
}

/** The permission bits in octal, as `ls -l` users know them: "644". */
export function modeText(file: FileFacts): string {
  return ((file.mode ?? 0) & 0o777).toString(8).padStart(3, "0");
}

/** A finding for a file or directory that grants more than `allowed`, fixed by chmod. */
export function tooOpen(file: FileFacts | undefined, allowed: number, setting?: string): Detail[] {
  if (!file || !widerThan(file, allowed)) return [];
  const detail: Detail = {
    found: `${file.path} has mode ${modeText(file)}`,
    fix: `chmod ${allowed.toString(8)} ${file.path}`,
  };
  if (setting) detail.setting = setting;
  return [detail];
}
