/**
 * citadel's Prometheus metrics (prefix `citadel_`): the instruments the app, the services and
 * the server record into, the process gauges read at scrape time, and the event-loop lag
 * sampler `serve` starts. One instance per isolate; `serve --workers N` merges the workers'
 * snapshots (lib/metrics_registry.ts) so one scrape sees them all.
 */
import { type MetricSnapshot, Registry } from "../lib/metrics_registry.ts";

/** Request durations, seconds: from a cached /me (tens of µs) to a slow argon2 login. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Database statements, seconds. */
const QUERY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5];

/** How a login attempt ended. */
export type LoginOutcome =
  | "success"
  | "invalid_credentials"
  | "blocked"
  | "mfa_required"
  | "mfa_failed";

/**
 * How an API key presented as a credential was answered: accepted, refused 401 (malformed,
 * unknown, revoked, expired, its owner disabled: one answer, so one outcome), or not decided
 * (the database failed). Keys have no address restriction, so there is no `ip_denied`.
 */
export type ApiKeyOutcome = "success" | "invalid" | "unavailable";

/** The instruments of one isolate. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = this.registry.counter(
    "citadel_http_requests_total",
    "HTTP requests by route template (never the raw path), method and status",
    ["route", "method", "status"],
  );
  readonly httpDuration = this.registry.histogram(
    "citadel_http_request_duration_seconds",
    "HTTP request duration by route template and method",
    ["route", "method"],
    DURATION_BUCKETS,
  );
  readonly logins = this.registry.counter(
    "citadel_logins_total",
    "Login attempts by outcome (every sign-in method)",
    ["outcome"],
  );
  readonly guardBlocks = this.registry.counter(
    "citadel_guard_blocks_total",
    "Clients and accounts blocked by the login and path guards, by reason",
    ["reason"],
  );
  readonly rateLimited = this.registry.counter(
    "citadel_rate_limited_total",
    "Requests refused 429 by a rate limiter, by limiter",
    ["limiter"],
  );
  readonly refreshReuse = this.registry.counter(
    "citadel_refresh_reuse_total",
    "Refresh tokens presented twice (their session revoked)",
  );
  readonly apiKeyAuthentications = this.registry.counter(
    "citadel_api_key_authentications_total",
    "API keys presented as credentials, by outcome",
    ["outcome"],
  );
  readonly auditEvents = this.registry.counter(
    "citadel_audit_events_total",
    "Audit events appended, by outcome",
    ["outcome"],
  );
  readonly emailOutboxDepth = this.registry.gauge(
    "citadel_email_outbox_depth",
    "Messages waiting in the email outbox",
    [],
    "max",
  );
  readonly emailSendFailures = this.registry.counter(
    "citadel_email_send_failures_total",
    "Email deliveries that failed (each is retried until it gives up)",
  );
  readonly queryDuration = this.registry.histogram(
    "citadel_db_query_duration_seconds",
    "Database statement duration",
    [],
    QUERY_BUCKETS,
  );
  readonly residentMemory = this.registry.gauge(
    "citadel_process_resident_memory_bytes",
    "Resident set size of the process",
    [],
    "max",
  );
  readonly heapUsed = this.registry.gauge(
    "citadel_process_heap_used_bytes",
    "V8 heap in use, summed over the isolates",
  );
  readonly heapTotal = this.registry.gauge(
    "citadel_process_heap_total_bytes",
    "V8 heap reserved, summed over the isolates",
  );
  readonly eventLoopLag = this.registry.gauge(
    "citadel_event_loop_lag_seconds",
    "Event-loop lag, 99th percentile over the last minute (the worst isolate)",
    [],
    "max",
  );
  readonly buildInfo = this.registry.gauge(
    "citadel_build_info",
    "citadel's version and the runtime it runs on (always 1)",
    ["version", "runtime"],
    "max",
  );
  readonly #collectors: Array<() => Promise<void> | void> = [];
  readonly #lag = new LagSampler();

  constructor(build: { version: string; runtime: string }) {
    this.buildInfo.set([build.version, build.runtime], 1);
  }

  /** Adds a gauge source read at every scrape (the outbox depth); its failure is skipped. */
  collect(collector: () => Promise<void> | void): void {
    this.#collectors.push(collector);
  }

  /** Starts sampling the event-loop lag (a timer that does not keep the process alive). */
  startLagSampler(): () => void {
    return this.#lag.start();
  }

  /** The event-loop lag's 99th percentile over the last minute, in seconds. */
  eventLoopLagP99(): number {
    return this.#lag.p99();
  }

  /** Reads the scrape-time gauges, then answers every metric's values. */
  async snapshot(): Promise<MetricSnapshot[]> {
    if (typeof Deno !== "undefined" && typeof Deno.memoryUsage === "function") {
      const memory = Deno.memoryUsage();
      this.residentMemory.set([], memory.rss);
      this.heapUsed.set([], memory.heapUsed);
      this.heapTotal.set([], memory.heapTotal);
    }
    this.eventLoopLag.set([], this.#lag.p99());
    await Promise.all(this.#collectors.map(async (collect) => {
      try {
        await collect();
      } catch {
        // A source that cannot answer (database down) keeps its last value; readiness says why.
      }
    }));
    return this.registry.snapshot();
  }
}

/** Samples how late a 100 ms timer fires; keeps the last minute. */
class LagSampler {
  static readonly PERIOD_MS = 100;
  static readonly KEPT = 600;
  readonly #samples: number[] = [];

  start(): () => void {
    let expected = performance.now() + LagSampler.PERIOD_MS;
    const timer = setInterval(() => {
      const now = performance.now();
      this.#samples.push(Math.max(0, now - expected) / 1000);
      if (this.#samples.length > LagSampler.KEPT) this.#samples.shift();
      expected = now + LagSampler.PERIOD_MS;
    }, LagSampler.PERIOD_MS);
    if (typeof Deno !== "undefined") Deno.unrefTimer(timer);
    return () => clearInterval(timer);
  }

  p99(): number {
    if (this.#samples.length === 0) return 0;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  }
}
