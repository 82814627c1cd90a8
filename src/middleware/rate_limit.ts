/**
 * The rate limiters: per-IP limits on the unauthenticated auth endpoints and per-principal,
 * per-key and per-route limits on the API, with their RateLimit headers.
 */
import type { Context, MiddlewareHandler } from "hono";
import { rateLimiter, type RateLimitInfo } from "hono-rate-limiter";
import type { AppEnv } from "../app_types.ts";
import type { Config } from "../config.ts";
import { problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import { type CounterStore, CounterStoreUnavailable } from "../platform/counter_store.ts";
import { clientKey } from "../lib/client_ip.ts";
import { guardUnavailable } from "../services/login_guard.ts";
import { counterStoreAdapter } from "./rate_limit_store.ts";

type Ctx = Context<AppEnv>;

/** What every limiter needs besides its settings. */
export interface RateLimitBaseOptions {
  counters: CounterStore;
  clock: Clock;
  /**
   * The client's address key when there is no principal; defaults to the `clientIp`
   * address for IPv4 and its /64 network for IPv6.
   */
  clientKey?: (c: Ctx) => string;
  /**
   * Name the refusing limit and the variable that sets it in the 429's `detail`
   * (development: a person trying citadel learns why and what to change).
   */
  explain?: boolean;
  /** Counts each 429, labelled with the limiter (`auth` or `api`). */
  metrics?: Pick<Metrics, "rateLimited">;
}

/** Options of {@linkcode authRateLimit}; `config.rateLimit` (validated there) fits `settings`. */
export interface AuthRateLimitOptions extends RateLimitBaseOptions {
  settings: Pick<Config["rateLimit"], "enabled" | "authPerMinute" | "authPerHour" | "authPerDay">;
}

/** Options of {@linkcode apiRateLimit}; `config.rateLimit` (validated there) fits `settings`. */
export interface ApiRateLimitOptions extends RateLimitBaseOptions {
  settings: Pick<Config["rateLimit"], "enabled" | "apiPerMinute" | "routeOverrides">;
  /**
   * The per-minute limit of this request's principal; undefined falls back to
   * `apiPerMinute`. Defaults to `principal.rateLimitPerMinute`, which API-key
   * authentication sets to the key's own limit. Route overrides do not consult it.
   */
  limitFor?: (c: Ctx) => number | undefined;
}

interface Policy {
  name: string;
  infoKey: string;
  /** `"name";r=` precomputed for the RateLimit field. */
  itemPrefix: string;
  policyHeader: (limit: number) => string;
  limiter: MiddlewareHandler<AppEnv>;
}

interface PolicySpec {
  name: string;
  /** The limiter this policy belongs to, as its 429s are counted: `auth` or `api`. */
  limiter: "auth" | "api";
  /** What the limit counts and the setting that raises it, e.g. `per minute per client address (RATE_LIMIT_AUTH_PER_MINUTE)`. */
  explanation: string;
  windowSeconds: number;
  limit: number | ((c: Ctx) => number);
  keyOf: (c: Ctx) => string;
  prefix: string;
  policyHeader: (limit: number) => string;
}

/** One draft-ietf-httpapi-ratelimit-headers quota policy item, e.g. `"api";q=600;w=60`. */
function policyItem(name: string, quota: number, windowSeconds: number): string {
  return `"${name}";q=${quota};w=${windowSeconds}`;
}

function secondsUntil(reset: Date | undefined, now: number): number {
  return reset === undefined ? 0 : Math.max(0, Math.ceil((reset.getTime() - now) / 1000));
}

/** The limiter's verdict for this request; set by hono-rate-limiter once it counted it. */
function infoOf(c: Ctx, key: string): RateLimitInfo {
  return (c.get as unknown as (key: string) => RateLimitInfo)(key);
}

function serviceItem(policy: Policy, info: RateLimitInfo, now: number): string {
  return `${policy.itemPrefix}${info.remaining};t=${secondsUntil(info.resetTime, now)}`;
}

function asGuardError(error: unknown): unknown {
  return error instanceof CounterStoreUnavailable ? guardUnavailable(error) : error;
}

function passThrough(): MiddlewareHandler<AppEnv> {
  return function rateLimitDisabled(_c, next) {
    return next();
  };
}

const clientIpOf = (c: Ctx) => clientKey(c.get("clientIp"));
const principalLimit = (c: Ctx) => c.get("principal")?.rateLimitPerMinute;

function createPolicy(spec: PolicySpec, base: RateLimitBaseOptions): Policy {
  const { name, policyHeader } = spec;
  const { clock } = base;
  const infoKey = `rateLimit.${name}`;
  const itemPrefix = `"${name}";r=`;
  const limiter = rateLimiter<AppEnv>({
    windowMs: spec.windowSeconds * 1000,
    limit: spec.limit,
    keyGenerator: spec.keyOf,
    store: counterStoreAdapter(base.counters, spec.prefix),
    // The library's headers follow draft 6/7 and read Date.now(); ours follow the
    // current draft and the injected clock.
    standardHeaders: false,
    requestPropertyName: infoKey,
    requestStorePropertyName: `${infoKey}.store`,
    handler(c) {
      base.metrics?.rateLimited.inc([spec.limiter]);
      const info = infoOf(c, infoKey);
      const seconds = Math.max(1, secondsUntil(info.resetTime, clock.now()));
      throw problem("rate_limited", {
        detail: base.explain
          ? `Too many requests: the limit is ${info.limit} requests ${spec.explanation}; ` +
            `retry after ${seconds} seconds`
          : `Too many requests; retry after ${seconds} seconds`,
        headers: {
          "retry-after": String(seconds),
          "ratelimit-policy": policyHeader(info.limit),
          "ratelimit": `${itemPrefix}0;t=${seconds}`,
        },
      });
    },
  });
  return { name, infoKey, itemPrefix, policyHeader, limiter };
}

/**
 * Runs `policies` nested, first outermost, then `next`. hono-rate-limiter swallows
 * errors thrown by `next`, so an inner policy's 429 is caught here and rethrown once the
 * outer ones have unwound; a request refused by an inner policy is refunded to the
 * outer ones (the library's `skipFailedRequests` semantics are not needed for that:
 * the outer limiter decrements when its `next` fails).
 */
async function runNested(c: Ctx, policies: readonly Policy[], next: () => Promise<void>) {
  let refusal: unknown;
  const run = (i: number): Promise<void> => {
    if (i === policies.length) return next();
    return policies[i].limiter(c, async () => {
      try {
        await run(i + 1);
      } catch (error) {
        refusal ??= error;
      }
    }) as Promise<void>;
  };
  try {
    await run(0);
  } catch (error) {
    throw asGuardError(error);
  }
  if (refusal !== undefined) throw asGuardError(refusal);
}

/**
 * Per-client-address limits for the unauthenticated auth endpoints (register, login,
 * refresh): `authPerMinute`, `authPerHour` and `authPerDay`, all of which must pass.
 *
 * Windows are checked shortest first; a request refused by a longer window is refunded
 * to the shorter ones, so only the window that refused it is charged. Allowed responses
 * carry `RateLimit-Policy` and `RateLimit` for all three; a 429 `rate_limited` carries
 * `Retry-After` and the refusing window's `RateLimit` item. An unreachable store is a
 * 503 (fail closed). With `enabled: false` it passes everything through.
 */
export function authRateLimit(options: AuthRateLimitOptions): MiddlewareHandler<AppEnv> {
  const { settings, clock } = options;
  if (!settings.enabled) return passThrough();
  const windows: Array<[string, number, number]> = [
    ["minute", 60, settings.authPerMinute],
    ["hour", 3600, settings.authPerHour],
    ["day", 86_400, settings.authPerDay],
  ];
  const setting = { minute: "MINUTE", hour: "HOUR", day: "DAY" } as Record<string, string>;
  const policyHeader = windows.map(([name, w, q]) => policyItem(name, q, w)).join(", ");
  const keyOf = options.clientKey ?? clientIpOf;
  const policies = windows.map(([name, windowSeconds, limit]) =>
    createPolicy({
      name,
      limiter: "auth",
      explanation:
        `per ${name} per client address on register, login, its MFA step, reauthenticate and refresh ` +
        `(RATE_LIMIT_AUTH_PER_${setting[name]})`,
      windowSeconds,
      limit,
      keyOf,
      prefix: `rl:auth:${name}:`,
      policyHeader: () => policyHeader,
    }, options)
  );
  const [minute, hour, day] = policies;

  return async function authRateLimitHandler(c, next) {
    if (infoOf(c, minute.infoKey) as unknown !== undefined) return next();
    await runNested(c, policies, next);
    const now = clock.now();
    const headers = c.res.headers;
    headers.set("RateLimit-Policy", policyHeader);
    headers.set(
      "RateLimit",
      `${serviceItem(minute, infoOf(c, minute.infoKey), now)}, ${
        serviceItem(hour, infoOf(c, hour.infoKey), now)
      }, ${serviceItem(day, infoOf(c, day.infoKey), now)}`,
    );
  };
}

/**
 * Per-principal limit for authenticated API requests; mount it after authentication.
 *
 * Every request of a user, through a session or any of the user's API keys, counts
 * against one budget of `apiPerMinute` keyed by the user id (the client address when
 * there is no principal), so creating more keys buys no more requests. An API key whose
 * own limit (`limitFor(c)`, by default the principal's `rateLimitPerMinute`) is lower
 * is also held to that, on its own counter, checked first: a key refused by its own
 * limit does not spend its owner's budget. A path in `routeOverrides` (exact match) has
 * its own per-minute budget instead of the general one. Headers are as in
 * {@linkcode authRateLimit}, policies `"api"`, `"key"` and `"route"`.
 */
export function apiRateLimit(options: ApiRateLimitOptions): MiddlewareHandler<AppEnv> {
  const { settings, clock } = options;
  if (!settings.enabled) return passThrough();
  const limitFor = options.limitFor ?? principalLimit;
  const perMinute = settings.apiPerMinute;
  const clientKey = options.clientKey ?? clientIpOf;
  const keyOf = (c: Ctx) => {
    const principal = c.get("principal");
    return principal === undefined ? `ip:${clientKey(c)}` : `u:${principal.userId}`;
  };
  const keyLimitOf = (c: Ctx) => {
    const principal = c.get("principal");
    if (principal?.kind !== "api_key") return undefined;
    const limit = limitFor(c);
    return limit !== undefined && limit < perMinute ? limit : undefined;
  };

  // Header strings are built once per distinct limit, not per request.
  const generalHeader = policyItem("api", perMinute, 60);
  const policyHeaders = new Map<number, string>();
  const keyPolicyHeader = (limit: number) => {
    let header = policyHeaders.get(limit);
    if (header === undefined) {
      header = policyItem("key", limit, 60);
      if (policyHeaders.size < 1024) policyHeaders.set(limit, header);
    }
    return header;
  };
  const general = createPolicy({
    name: "api",
    limiter: "api",
    explanation: "per minute per user, sessions and API keys together " +
      "(RATE_LIMIT_API_PER_MINUTE)",
    windowSeconds: 60,
    limit: perMinute,
    keyOf,
    prefix: "rl:api:",
    policyHeader: () => generalHeader,
  }, options);
  const keyPolicy = createPolicy({
    name: "key",
    limiter: "api",
    explanation: "per minute for this API key (its rate_limit_per_minute, at most " +
      "API_KEY_RATE_LIMIT_PER_MINUTE unless an admin raised it)",
    windowSeconds: 60,
    limit: (c) => keyLimitOf(c) ?? perMinute,
    keyOf: (c) => `k:${c.get("principal")!.apiKeyId}`,
    prefix: "rl:key:",
    policyHeader: (limit) => `${generalHeader}, ${keyPolicyHeader(limit)}`,
  }, options);
  const keyAndGeneral = [keyPolicy, general];
  const routes = new Map<string, Policy>();
  for (const [path, limit] of Object.entries(settings.routeOverrides)) {
    const header = policyItem("route", limit, 60);
    routes.set(
      path,
      createPolicy({
        name: "route",
        limiter: "api",
        explanation: `per minute per user on ${path} (RATE_LIMIT_ROUTES)`,
        windowSeconds: 60,
        limit,
        keyOf,
        prefix: `rl:route:${path}:`,
        policyHeader: () => header,
      }, options),
    );
  }

  return async function apiRateLimitHandler(c, next) {
    const route = routes.size > 0 ? routes.get(c.req.path) : undefined;
    const policy = route ?? general;
    // Hono matches both `/x` and `/x/*` for `/x`: a limiter mounted on both counts once.
    if (infoOf(c, policy.infoKey) as unknown !== undefined) return next();
    const withKey = route === undefined && keyLimitOf(c) !== undefined;
    if (withKey) await runNested(c, keyAndGeneral, next);
    else {
      try {
        await policy.limiter(c, next);
      } catch (error) {
        throw asGuardError(error);
      }
    }
    // Onto the finished response: headers set before `next()` make Hono build a Headers
    // object for every response (measured ~3.5 us a request, against ~0.3 us here).
    const info = infoOf(c, policy.infoKey);
    const headers = c.res.headers;
    const now = clock.now();
    if (withKey) {
      const keyInfo = infoOf(c, keyPolicy.infoKey);
      headers.set("RateLimit-Policy", keyPolicy.policyHeader(keyInfo.limit));
      headers.set(
        "RateLimit",
        `${serviceItem(general, info, now)}, ${serviceItem(keyPolicy, keyInfo, now)}`,
      );
    } else {
      headers.set("RateLimit-Policy", policy.policyHeader(info.limit));
      headers.set("RateLimit", serviceItem(policy, info, now));
    }
  };
}
