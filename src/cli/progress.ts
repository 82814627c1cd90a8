/**
 * The progress display of long CLI runs (`citadel migrate uuid`, `citadel keys reencrypt`):
 * a redrawn bar on a terminal, plain lines elsewhere.
 */

/** How far a run is: `done` of `total` items of a phase (a migration's `ProgressEvent` is one). */
export interface ProgressUpdate {
  phase: string;
  table?: string;
  done: number;
  total: number;
}

/** Options of {@linkcode progressReporter}. */
export interface ProgressOptions {
  /** Draws a bar redrawn in place; otherwise plain lines. */
  terminal: boolean;
  write: (text: string) => void;
  now?: () => number;
  /** Minimum time between plain lines. */
  lineIntervalMs?: number;
  /** What is counted, e.g. `fields`; default `rows`. */
  unit?: string;
}

/** A progress sink and the call that ends its output. */
export interface ProgressReporter {
  update(event: ProgressUpdate): void;
  finish(): void;
}

const WIDTH = 30;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Renders progress: on a terminal a bar with items per second and ETA, redrawn
 * at most ten times a second; elsewhere a plain line per phase change and every few seconds.
 */
export function progressReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? (() => performance.now());
  const unit = options.unit ?? "rows";
  const interval = options.terminal ? 100 : options.lineIntervalMs ?? 2000;
  const started = now();
  let lastDraw = -Infinity;
  let lastLabel = "";
  let drawn = false;

  function line(event: ProgressUpdate): string {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? event.done / elapsed : 0;
    const eta = rate > 0 ? (event.total - event.done) / rate : Infinity;
    const pct = event.total > 0 ? Math.min(100, Math.floor(event.done * 100 / event.total)) : 100;
    const label = `${event.phase}${event.table ? ` ${event.table}` : ""}`;
    const stats = `${event.done}/${event.total} ${unit}  ${Math.round(rate)} ${unit}/s  ETA ${
      duration(eta)
    }`;
    if (!options.terminal) return `${label}: ${pct}% ${stats}\n`;
    const filled = Math.round(WIDTH * pct / 100);
    return `\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${
      String(pct).padStart(3)
    }% ${stats}  ${label}`;
  }

  return {
    update(event) {
      const label = `${event.phase} ${event.table ?? ""}`;
      const t = now();
      if (label === lastLabel && t - lastDraw < interval) return;
      lastLabel = label;
      lastDraw = t;
      drawn = true;
      options.write(line(event));
    },
    finish() {
      if (options.terminal && drawn) options.write("\n");
    },
  };
}
