/**
 * The structured logger: JSON lines, redacted fields, batched writes to its sinks (stdout,
 * memory and the file and console sinks beside it).
 */
import { isFreeOfSecrets, redact } from "../lib/redact.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A destination for finished JSON lines. */
export interface LogSink {
  write(lines: string): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Structured JSON-lines logger; every field passes through {@linkcode redact}. */
export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Writes out buffered lines. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  sinks: LogSink[];
  now?: () => number;
  /** Lines are written in batches at most this far apart, so logging is not a per-request syscall. */
  flushIntervalMs?: number;
}

/** A sink writing to standard error: a command's warnings, so its stdout stays its answer. */
export function stderrSink(): LogSink {
  const encoder = new TextEncoder();
  return { write: (lines) => void Deno.stderr.writeSync(encoder.encode(lines)) };
}

/** A sink writing to standard output. */
export function stdoutSink(): LogSink {
  const encoder = new TextEncoder();
  return {
    async write(lines) {
      const bytes = encoder.encode(lines);
      let written = 0;
      while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
    },
  };
}

/** A sink that keeps lines in memory; for tests and `check`. */
export function memorySink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (chunk) => void lines.push(...chunk.split("\n").filter(Boolean)) };
}

/** Creates a batching logger over the given sinks. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? "info";
  const now = options.now ?? Date.now;
  const interval = options.flushIntervalMs ?? 25;
  let buffer: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: Promise<void> = Promise.resolve();

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return pending;
    const chunk = buffer.join("\n") + "\n";
    buffer = [];
    pending = pending.then(async () => {
      for (const sink of options.sinks) {
        try {
          await sink.write(chunk);
        } catch { /* a broken sink must not take requests down */ }
      }
    });
    return pending;
  };

  // Many lines share a millisecond under load; format each millisecond once.
  let stampMs = NaN;
  let stamp = "";
  const timestamp = () => {
    const ms = now();
    if (ms !== stampMs) {
      stampMs = ms;
      stamp = new Date(ms).toISOString();
    }
    return stamp;
  };

  const log = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[level]) return;
    const entry = { time: timestamp(), level: lvl, msg, ...fields };
    // Flat entries of plain values (access-log lines) need no redacted copy.
    buffer.push(JSON.stringify(isFreeOfSecrets(entry) ? entry : redact(entry)));
    if (buffer.length >= 512) void flush();
    else if (timer === undefined) timer = setTimeout(flush, interval);
  };

  return {
    level,
    log,
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    flush,
    async close() {
      await flush();
      for (const sink of options.sinks) await sink.close?.();
    },
  };
}
