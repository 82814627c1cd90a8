/**
 * The path and 404 guards: sensitive paths and repeated 404s count towards blocking a client,
 * and blocked clients get 403 `client_blocked`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { Config } from "../config.ts";
import { problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import type { Logger } from "../platform/logger.ts";
import { clientKey } from "../lib/client_ip.ts";
import { isSensitivePath } from "../lib/sensitive_paths.ts";
import { sendProblem } from "./errors.ts";

/** Why a client was blocked. */
export type BlockReason = "sensitive_path" | "not_found";

/** One block, as logged and handed to `onBlock` (the audit log). */
export interface ClientBlockEvent {
  ip: string;
  /** The address, or its /64 for IPv6: what the block applies to. */
  key: string;
  reason: BlockReason;
  /** Epoch ms when the block lifts. */
  until: number;
  path: string;
  requestId?: string;
}

/** Options of {@linkcode pathGuard}. */
export interface PathGuardOptions {
  counters: CounterStore;
  clock: Clock;
  logger: Logger;
  /** Config.pathGuard: thresholds, window and block duration (validated by the config). */
  limits: Config["pathGuard"];
  /**
   * Paths a blocked client may still reach, matched exactly (default the health routes:
   * `/health` and the probes `/health/live` and `/health/ready`, which a blocked load
   * balancer or kubelet address must never fail).
   */
  exemptPaths?: readonly string[];
  /**
   * How long a "not blocked" answer of a shared store is reused, so a database or
   * redis store is not asked on every request. Default 1000 ms, 0 for the memory store.
   */
  blockCacheMs?: number;
  onBlock?: (event: ClientBlockEvent) => void | Promise<void>;
}

/** The path guard's middleware and its hook for the app's notFound handler. */
export interface PathGuard {
  /** Mount right after requestContext: refuses blocked clients, hides sensitive paths. */
  middleware: MiddlewareHandler<AppEnv>;
  /** Pass to notFoundHandler(app, onNotFound): counts 404s of unauthenticated clients. */
  onNotFound(c: Context<AppEnv>): Promise<void>;
}

const HEALTH_PATHS = ["/health", "/health/live", "/health/ready"];
const MINUTE = 60_000;
const CACHE_LIMIT = 10_000;
const UNAVAILABLE_LOG_INTERVAL = MINUTE;

function remember(cache: Map<string, number>, key: string, value: number): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
}

/**
 * Path and 404 guards. Requests for sensitive paths (secrets, VCS metadata, backups,
 * other products' admin pages) get the unknown-route 404 without reaching a handler and
 * count towards a block; so do 404s of unauthenticated clients. A blocked client gets
 * 403 `client_blocked` everywhere except the exempt paths.
 */
export function pathGuard(options: PathGuardOptions): PathGuard {
  const { counters, clock, logger, onBlock } = options;
  const { sensitiveHits, notFoundHits } = options.limits;
  const windowMs = options.limits.windowMinutes * MINUTE;
  const blockMs = options.limits.blockMinutes * MINUTE;
  const exempt = new Set(options.exemptPaths ?? HEALTH_PATHS);
  const cacheMs = options.blockCacheMs ?? (counters.kind === "memory" ? 0 : 1000);
  const knownBlocks = new Map<string, number>();
  const knownClear = new Map<string, number>();
  let unavailableLoggedAt = -Infinity;

  function storeFailed(error: unknown): void {
    const now = clock.now();
    if (now - unavailableLoggedAt < UNAVAILABLE_LOG_INTERVAL) return;
    unavailableLoggedAt = now;
    // Failing open: an outage of the store must not take the whole API down.
    logger.warn("counter store unavailable", {
      guard: "path_guard",
      error: error instanceof Error ? error.message : String(error),
    });
  }

  async function blockedUntil(key: string, now: number): Promise<number | undefined> {
    if (cacheMs === 0) return await counters.blockedUntil(key);
    const known = knownBlocks.get(key);
    if (known !== undefined && known > now) return known;
    if ((knownClear.get(key) ?? 0) > now) return undefined;
    const until = await counters.blockedUntil(key);
    if (until === undefined) remember(knownClear, key, now + cacheMs);
    else remember(knownBlocks, key, until);
    return until;
  }

  async function count(c: Context<AppEnv>, key: string, reason: BlockReason): Promise<void> {
    // The 5th sensitive hit blocks; 25 404s are tolerated and the 26th blocks.
    const threshold = reason === "sensitive_path" ? sensitiveHits : notFoundHits + 1;
    const hit = await counters.hit(`path_guard:${reason}:${key}`, windowMs);
    if (hit.count < threshold) return;
    const until = clock.now() + blockMs;
    await counters.block(`client:${key}`, until);
    if (cacheMs > 0) {
      remember(knownBlocks, `client:${key}`, until);
      knownClear.delete(`client:${key}`);
    }
    const event: ClientBlockEvent = {
      ip: c.get("clientIp"),
      key,
      reason,
      until,
      path: c.req.path,
      requestId: c.get("requestId"),
    };
    logger.warn("client blocked", {
      ip: event.ip,
      key,
      reason,
      until: new Date(until).toISOString(),
      path: event.path,
      request_id: event.requestId,
    });
    try {
      await onBlock?.(event);
    } catch (error) {
      logger.error("block hook failed", { error: String(error), request_id: event.requestId });
    }
  }

  async function countSafely(c: Context<AppEnv>, key: string, reason: BlockReason) {
    try {
      await count(c, key, reason);
    } catch (error) {
      storeFailed(error);
    }
  }

  return {
    middleware: async function pathGuardHandler(c, next) {
      const path = c.req.path;
      if (exempt.has(path)) return await next();
      const key = clientKey(c.get("clientIp"));
      const now = clock.now();
      let until: number | undefined;
      try {
        until = await blockedUntil(`client:${key}`, now);
      } catch (error) {
        storeFailed(error);
      }
      if (until !== undefined) {
        return sendProblem(
          c,
          problem("client_blocked", {
            detail: "Too many suspicious requests came from this address; try again later",
            headers: { "retry-after": String(Math.ceil((until - now) / 1000)) },
          }),
        );
      }
      if (isSensitivePath(path)) {
        await countSafely(c, key, "sensitive_path");
        // Exactly what an unknown route gets, so a scanner learns nothing.
        return sendProblem(c, problem("not_found", { detail: "No such route" }));
      }
      await next();
    },
    async onNotFound(c) {
      const ip = c.get("clientIp");
      if (c.get("principal") || !ip) return;
      await countSafely(c, clientKey(ip), "not_found");
    },
  };
}
