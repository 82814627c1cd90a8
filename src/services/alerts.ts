/**
 * Security alerts: a WARN log line at once and a signed webhook POST (ALERT_WEBHOOK_URL),
 * delivered with retries off the request path.
 */
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/logger.ts";
import { hex, hmac, importHmacKey } from "../lib/crypto.ts";
import { redact } from "../lib/redact.ts";

/** What an alert is about. */
export type AlertKind =
  | "new_network_login"
  | "client_blocked"
  | "account_blocked"
  | "refresh_token_reused"
  | "mfa_recovery_code_used"
  | "mfa_blocked"
  | "mfa_reset"
  | "passkey_counter_regression";

/** Options of {@linkcode createAlerter}. */
export interface AlerterOptions {
  logger: Logger;
  clock: Clock;
  /**
   * ALERT_WEBHOOK_URL, an http(s) URL; without it alerts only go to the log. Taken as
   * given: parseConfig validates it and requires the secret with it.
   */
  webhookUrl?: string;
  /** ALERT_WEBHOOK_SECRET; present whenever webhookUrl is. */
  webhookSecret?: string;
  fetch?: typeof fetch;
  /** Delivery attempts per alert, the first included. */
  maxAttempts?: number;
  /** Delay before the first retry; doubles with each further one. */
  baseDelayMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Undelivered alerts kept in memory; the oldest is dropped beyond this. */
  queueLimit?: number;
  /** Deliveries in flight at once, so one slow request does not hold up the rest. */
  concurrency?: number;
}

/** Raises security alerts: a WARN log line now, a signed webhook POST in the background. */
export interface Alerter {
  /** Logs and enqueues; returns at once and never throws. */
  alert(kind: AlertKind, details?: Record<string, unknown>): void;
  /** Waits until the queue is empty or `timeoutMs` passed; true when it emptied. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes for at most `timeoutMs`, then abandons what is left (logged). */
  close(timeoutMs?: number): Promise<void>;
}

interface Job {
  id: string;
  kind: AlertKind;
  occurredAt: number;
  details: unknown;
}

const PERMANENT = new Set([400, 401, 403, 404, 405, 410, 413, 422]);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Creates the alerter. Webhook requests carry
 * `X-Citadel-Timestamp: <unix seconds>` and
 * `X-Citadel-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`,
 * plus `X-Citadel-Alert-Id` (the same on every retry, for de-duplication). Failed
 * deliveries (network errors, timeouts, 408, 429, 5xx) are retried with exponential
 * backoff and jitter up to `maxAttempts`, a few alerts at a time, off the request path.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const { logger, clock, webhookUrl } = options;
  const doFetch = options.fetch ?? fetch;
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const queueLimit = options.queueLimit ?? 1000;
  const concurrency = options.concurrency ?? 4;
  const key = webhookUrl ? importHmacKey(options.webhookSecret!) : undefined;
  const queue: Job[] = [];
  const stop = new AbortController();
  const workers = new Set<Promise<void>>();

  async function attempt(job: Job): Promise<"done" | "retry" | "give_up"> {
    const body = JSON.stringify({
      id: job.id,
      kind: job.kind,
      occurred_at: new Date(job.occurredAt).toISOString(),
      service: "citadel",
      details: job.details,
    });
    const timestamp = String(Math.floor(clock.now() / 1000));
    const mac = await hmac(await key!, `${timestamp}.${body}`);
    try {
      const res = await doFetch(webhookUrl!, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "citadel-alerts/1",
          "x-citadel-alert-id": job.id,
          "x-citadel-timestamp": timestamp,
          "x-citadel-signature": `sha256=${hex(mac)}`,
        },
        body,
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.body?.cancel();
      if (res.ok) return "done";
      return PERMANENT.has(res.status) ? "give_up" : "retry";
    } catch {
      return "retry";
    }
  }

  async function deliver(job: Job): Promise<void> {
    for (let n = 1; n <= maxAttempts && !stop.signal.aborted; n++) {
      const outcome = await attempt(job);
      if (outcome === "done") return;
      if (outcome === "give_up") break;
      if (n < maxAttempts) {
        await sleep(baseDelayMs * 2 ** (n - 1) * (0.75 + Math.random() / 2), stop.signal);
      }
    }
    logger.error("alert webhook delivery failed", { alert: job.kind, alert_id: job.id });
  }

  async function work(): Promise<void> {
    for (let job = queue.shift(); job && !stop.signal.aborted; job = queue.shift()) {
      await deliver(job);
    }
  }

  function pump(): void {
    while (workers.size < concurrency && queue.length > 0 && !stop.signal.aborted) {
      const worker: Promise<void> = work().finally(() => workers.delete(worker));
      workers.add(worker);
    }
  }

  const idle = async (timeoutMs: number) => {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const expired = new Promise<void>((r) => deadline.signal.addEventListener("abort", () => r()));
    try {
      while (workers.size > 0 && !deadline.signal.aborted) {
        await Promise.race([Promise.all(workers), expired]);
      }
    } finally {
      clearTimeout(timer);
      deadline.abort();
    }
    return workers.size === 0 && queue.length === 0;
  };

  return {
    alert(kind, details = {}) {
      try {
        const job: Job = {
          id: crypto.randomUUID(),
          kind,
          occurredAt: clock.now(),
          details: redact(details),
        };
        logger.warn("security alert", { alert: kind, alert_id: job.id, details: job.details });
        if (!webhookUrl || stop.signal.aborted) return;
        if (queue.length >= queueLimit) {
          const dropped = queue.shift()!;
          logger.error("alert queue full; oldest alert dropped", { alert_id: dropped.id });
        }
        queue.push(job);
        pump();
      } catch (error) {
        logger.error("alert failed", { alert: kind, error });
      }
    },
    flush: (timeoutMs = 5000) => idle(timeoutMs),
    async close(timeoutMs = 5000) {
      const emptied = await idle(timeoutMs);
      if (!emptied) {
        logger.error("alerts not delivered before shutdown", {
          pending: queue.length + workers.size,
        });
      }
      stop.abort();
      await Promise.all(workers);
    },
  };
}
