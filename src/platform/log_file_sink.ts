/**
 * The log sink writing LOG_DIR/citadel.log with size-based rotation.
 */
import type { LogSink } from "./logger.ts";
import { pathExists } from "./path_exists.ts";

/**
 * Options of {@linkcode openLogFileSink}, taken as given: parseConfig is the one place that
 * checks LOG_MAX_BYTES and LOG_BACKUPS against their ranges.
 */
export interface LogFileSinkOptions {
  /** LOG_DIR: created with mode 700. */
  dir: string;
  /** Rotate before a write would take the file past this many bytes (LOG_MAX_BYTES). */
  maxBytes: number;
  /** Rotated files kept: citadel.log.1 (newest) .. citadel.log.N (LOG_BACKUPS). */
  backups: number;
  fileName?: string;
}

/** A log sink writing to LOG_DIR/citadel.log. */
export interface LogFileSink extends LogSink {
  readonly path: string;
  /**
   * Problems fixed while opening (permissions that were too wide). The sink exists
   * before the logger does, so the caller logs these once the logger is built.
   */
  readonly warnings: string[];
  close(): Promise<void>;
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const POSIX = Deno.build.os !== "windows";

function modeText(mode: number): string {
  return (mode & 0o777).toString(8);
}

async function tighten(path: string, mode: number | null, allowed: number, warnings: string[]) {
  if (!POSIX || mode === null || (mode & 0o777 & ~allowed) === 0) return;
  await Deno.chmod(path, allowed);
  warnings.push(
    `${path} had mode ${modeText(mode)}; changed to ${
      modeText(allowed)
    } because logs may hold personal data`,
  );
}

async function ensureDirectory(dir: string, warnings: string[]): Promise<void> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new Error(`LOG_DIR ${dir} is not a directory`);
    await tighten(dir, info.mode, DIR_MODE, warnings);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dir, { recursive: true, mode: DIR_MODE });
    // mkdir applies the umask to `mode`; chmod makes 700 exact rather than "at most".
    if (POSIX) await Deno.chmod(dir, DIR_MODE);
  }
}

/** Removes rotated files numbered above `backups`, left by a larger LOG_BACKUPS. */
async function removeExtraBackups(dir: string, name: string, backups: number): Promise<void> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)$`);
  for await (const entry of Deno.readDir(dir)) {
    const n = pattern.exec(entry.name)?.[1];
    if (n !== undefined && Number(n) > backups) await Deno.remove(`${dir}/${entry.name}`);
  }
}

/**
 * Opens LOG_DIR/citadel.log for appending: directory 700 and file 600 when created,
 * tightened (with a warning in `warnings`) when found wider. Before a chunk would take
 * the file past `maxBytes` it rotates: citadel.log -> .1 -> .2 ... -> .N, dropping the
 * oldest, so at most N + 1 files exist. The logger hands it batched chunks, so each
 * batch is one write.
 */
export async function openLogFileSink(options: LogFileSinkOptions): Promise<LogFileSink> {
  const dir = options.dir.replace(/[\\/]+$/, "") || "/";
  const name = options.fileName ?? "citadel.log";
  const path = `${dir}/${name}`;
  const warnings: string[] = [];
  await ensureDirectory(dir, warnings);
  await removeExtraBackups(dir, name, options.backups);

  const openFile = async () => {
    const file = await Deno.open(path, { create: true, append: true, mode: FILE_MODE });
    const info = await file.stat();
    await tighten(path, info.mode, FILE_MODE, warnings);
    return { file, size: info.size };
  };
  let { file, size } = await openFile();
  let queue: Promise<void> = Promise.resolve();
  const encoder = new TextEncoder();

  const rotate = async () => {
    file.close();
    try {
      if (options.backups === 0) await Deno.remove(path);
      else {
        const oldest = `${path}.${options.backups}`;
        if (await pathExists(oldest)) await Deno.remove(oldest);
        for (let i = options.backups - 1; i >= 1; i--) {
          if (await pathExists(`${path}.${i}`)) {
            await Deno.rename(`${path}.${i}`, `${path}.${i + 1}`);
          }
        }
        await Deno.rename(path, `${path}.1`);
      }
    } finally {
      // Even when a rename failed, keep a file open so logging goes on.
      ({ file, size } = await openFile());
    }
  };

  const writeChunk = async (bytes: Uint8Array) => {
    if (size > 0 && size + bytes.length > options.maxBytes) await rotate();
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    size += bytes.length;
  };

  return {
    path,
    warnings,
    write(lines: string) {
      const bytes = encoder.encode(lines);
      // Writes and rotations must not interleave, whoever calls.
      const done = queue.then(() => writeChunk(bytes));
      queue = done.catch(() => {});
      return done;
    },
    async close() {
      await queue;
      file.close();
    },
  };
}
