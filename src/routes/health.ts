/**
 * The health routes: `GET /health` (the version and whether the database answers), the
 * liveness probe `GET /health/live` and the readiness probe `GET /health/ready`.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { pendingMigrations } from "../db/migrator.ts";
import { assertDatabaseAnswers, pingDatabase } from "../db/ping.ts";
import type { Db } from "../db/schema.ts";
import { documented } from "../lib/route_docs.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import type { Logger } from "../platform/logger.ts";

const health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  database: z.enum(["ok", "down"]),
});

const live = z.strictObject({ status: z.literal("ok") });

const ready = z.strictObject({
  status: z.literal("ready"),
  checks: z.strictObject({
    database: z.literal("ok"),
    migrations: z.literal("ok"),
    counters: z.literal("ok"),
  }),
});

const notReady = z.strictObject({
  status: z.literal("not_ready"),
  checks: z.strictObject({
    database: z.enum(["ok", "down"]),
    // `unknown` when the migrations table could not be read (the database is down or hung).
    migrations: z.enum(["ok", "pending", "unknown"]),
    counters: z.enum(["ok", "down"]),
  }),
  /** Present when `migrations` is `pending`: the migrations not applied yet, in order. */
  pending_migrations: z.array(z.string()).optional(),
});

/** What the health routes read. */
export interface HealthDeps {
  db: Db;
  version: string;
  counters: CounterStore;
  logger: Logger;
}

/** Options of {@linkcode healthRoutes}. */
export interface HealthOptions {
  /** How long each readiness check may take before it counts as failed (default 2000 ms). */
  readyTimeoutMs?: number;
}

/** A key no limiter uses: reading it proves the counter store answers, and writes nothing. */
const PROBE_KEY = "health:ready";

type Outcome<T> = { ok: true; value: T } | { ok: false; cause: string };

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // CounterStoreUnavailable wraps the client's error; the inner one says what failed.
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

/** Runs one check with a deadline, so a hung database or store cannot hang the probe. */
async function within<T>(ms: number, work: () => Promise<T>): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No answer within ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([work(), late]) };
  } catch (error) {
    return { ok: false, cause: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

function migrationsState(read: boolean, pending: string[]): "ok" | "pending" | "unknown" {
  if (!read) return "unknown";
  return pending.length > 0 ? "pending" : "ok";
}

/**
 * `GET /health`: 200 when the database answers, 503 `degraded` when it does not.
 * `GET /health/live`: 200 whenever the process answers; no I/O.
 * `GET /health/ready`: 200 when the database answers, every migration is applied and the
 * counter store answers (checked concurrently, each within `readyTimeoutMs`); 503 naming the
 * failing parts otherwise, their causes logged at warn (never in the body).
 */
export function healthRoutes(deps: HealthDeps, options: HealthOptions = {}) {
  const timeoutMs = options.readyTimeoutMs ?? 2000;
  return new Hono<AppEnv>().get(
    "/health",
    documented({
      summary: "Whether citadel and its database answer",
      tags: ["service"],
      responses: {
        200: { description: "citadel and its database answer", schema: health },
        503: { description: "The database does not answer", schema: health },
      },
    }, async (c) => {
      const ok = await pingDatabase(deps.db);
      return c.json(
        { status: ok ? "ok" : "degraded", version: deps.version, database: ok ? "ok" : "down" },
        ok ? 200 : 503,
      );
    }),
  ).get(
    "/health/live",
    documented({
      summary: "Liveness probe: the process answers",
      description: "Touches neither the database nor the counter store, so a slow dependency " +
        "never gets a healthy process restarted.",
      tags: ["service"],
      responses: { 200: { description: "The process answers", schema: live } },
    }, (c) => c.json({ status: "ok" as const }, 200)),
  ).get(
    "/health/ready",
    documented({
      summary: "Readiness probe: database, migrations and counter store",
      description: `Checks concurrently, each within ${timeoutMs} ms, that the database ` +
        "answers, that every migration is applied and that the counter store answers.",
      tags: ["service"],
      responses: {
        200: { description: "Ready to serve", schema: ready },
        503: { description: "Not ready: the failing parts are named", schema: notReady },
      },
    }, async (c) => {
      const [database, migrations, counters] = await Promise.all([
        within(timeoutMs, () => assertDatabaseAnswers(deps.db)),
        within(timeoutMs, () => pendingMigrations(deps.db)),
        within(timeoutMs, () => deps.counters.peek(PROBE_KEY)),
      ]);
      const pending = migrations.ok ? migrations.value : [];
      if (database.ok && migrations.ok && pending.length === 0 && counters.ok) {
        const checks = { database: "ok", migrations: "ok", counters: "ok" } as const;
        return c.json({ status: "ready" as const, checks }, 200);
      }
      const checks = {
        database: database.ok ? "ok" : "down",
        migrations: migrationsState(migrations.ok, pending),
        counters: counters.ok ? "ok" : "down",
      } as const;
      deps.logger.warn("not ready", {
        checks,
        database_error: database.ok ? undefined : database.cause,
        migrations_error: migrations.ok ? undefined : migrations.cause,
        pending_migrations: pending.length > 0 ? pending : undefined,
        counters_error: counters.ok ? undefined : counters.cause,
        counter_store: deps.counters.kind,
        request_id: c.get("requestId"),
      });
      const body = { status: "not_ready" as const, checks };
      return c.json(pending.length > 0 ? { ...body, pending_migrations: pending } : body, 503);
    }),
  );
}
