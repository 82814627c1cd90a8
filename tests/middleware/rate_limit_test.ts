import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv, Principal } from "../../src/app_types.ts";
import type { Config } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { errorHandler, notFoundHandler } from "../../src/middleware/errors.ts";
import {
  apiRateLimit,
  type ApiRateLimitOptions,
  authRateLimit,
} from "../../src/middleware/rate_limit.ts";
import { requestContext } from "../../src/middleware/request_context.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import type { CounterStore } from "../../src/platform/counter_store.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";
import { testConfig } from "../support/helpers.ts";
import { LOCAL_COUNTER_STORES } from "../support/counter_store_kinds.ts";
import { unreachableCounterStore } from "../support/unreachable_counter_store.ts";

/** The documented defaults; the shared test env raises the auth limits for other tests. */
const DEFAULT_LIMITS = {
  RATE_LIMIT_AUTH_PER_MINUTE: "10",
  RATE_LIMIT_AUTH_PER_HOUR: "50",
  RATE_LIMIT_AUTH_PER_DAY: "200",
};

const AUTH_POLICY = '"minute";q=10;w=60, "hour";q=50;w=3600, "day";q=200;w=86400';

interface Harness {
  app: Hono<AppEnv>;
  clock: ManualClock;
  counters: CounterStore;
  send(
    path: string,
    options?: { ip?: string; user?: string; apiKey?: string; keyLimit?: number },
  ): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A small app wired like citadel's: request context (client IP from the socket), the auth
 * limiter on POST /api/v1/auth/login, a stand-in for authentication that reads the
 * principal from test headers, then the API limiter on /api/v1/*.
 */
async function harness(
  open: StoreOpener,
  env: Record<string, string> = {},
  options: { limitFor?: ApiRateLimitOptions["limitFor"] } = {},
): Promise<Harness> {
  const config: Config = testConfig({ ...DEFAULT_LIMITS, ...env });
  const clock = new ManualClock();
  const store = await open(clock);
  const counters = store.counters;
  const logger = createLogger({ level: "error", sinks: [memorySink()] });
  const app = new Hono<AppEnv>();
  app.use(requestContext({ logger, trustedProxies: [], now: () => clock.now() }));
  app.post(
    "/api/v1/auth/login",
    authRateLimit({ counters, clock, settings: config.rateLimit }),
    (c) => c.json({ ok: true }),
  );
  app.use("/api/v1/*", async (c, next) => {
    const user = c.req.header("x-test-user");
    const apiKey = c.req.header("x-test-api-key");
    if (user) c.set("principal", { kind: "user", userId: user, role: "user" } as Principal);
    if (apiKey) {
      const limit = c.req.header("x-test-key-limit");
      c.set("principal", {
        kind: "api_key",
        userId: "owner",
        role: "user",
        apiKeyId: apiKey,
        rateLimitPerMinute: limit ? Number(limit) : undefined,
      });
    }
    await next();
  });
  app.use(
    "/api/v1/*",
    apiRateLimit({ counters, clock, settings: config.rateLimit, limitFor: options.limitFor }),
  );
  app.get("/api/v1/me", (c) => c.json({ ok: true }));
  app.get("/api/v1/expensive", (c) => c.json({ ok: true }));
  app.get("/api/v1/broken", () => {
    throw new AppError(409, "conflict", { detail: "Already exists" });
  });
  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app));

  return {
    app,
    clock,
    counters,
    send(path, { ip = "192.0.2.1", user, apiKey, keyLimit } = {}) {
      const headers: Record<string, string> = {};
      if (user) headers["x-test-user"] = user;
      if (apiKey) headers["x-test-api-key"] = apiKey;
      if (keyLimit) headers["x-test-key-limit"] = String(keyLimit);
      const method = path.startsWith("/api/v1/auth/") ? "POST" : "GET";
      return Promise.resolve(
        app.request(`http://localhost${path}`, { method, headers }, {
          remoteAddr: { hostname: ip },
        }),
      );
    },
    async close() {
      await logger.close();
      await store.close();
    },
  };
}

type StoreOpener = (typeof LOCAL_COUNTER_STORES)[number][1];

/** Registers the test once per local counter store: memory and database. */
function rateTest(name: string, fn: (open: StoreOpener) => Promise<void>): void {
  for (const [kind, open] of LOCAL_COUNTER_STORES) {
    Deno.test(`${name} (${kind} store)`, () => fn(open));
  }
}

async function sendTimes(h: Harness, times: number, path: string, options = {}) {
  for (let i = 0; i < times; i++) {
    const response = await h.send(path, options);
    await response.body?.cancel();
    assert.equal(response.status, 200, `request ${i + 1} should pass`);
  }
}

rateTest(
  "authRateLimit() allows 10 logins a minute per address with RateLimit headers",
  async (open) => {
    const h = await harness(open);
    const first = await h.send("/api/v1/auth/login");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("ratelimit-policy"), AUTH_POLICY);
    assert.equal(
      first.headers.get("ratelimit"),
      '"minute";r=9;t=60, "hour";r=49;t=3600, "day";r=199;t=86400',
    );
    await first.body?.cancel();
    h.clock.advance(20_500);
    await sendTimes(h, 8, "/api/v1/auth/login");
    const tenth = await h.send("/api/v1/auth/login");
    assert.equal(
      tenth.headers.get("ratelimit"),
      '"minute";r=0;t=40, "hour";r=40;t=3580, "day";r=190;t=86380',
    );
    await tenth.body?.cancel();
    await h.close();
  },
);

rateTest(
  "authRateLimit() answers the 11th login of a minute with a 429 problem and Retry-After",
  async (open) => {
    const h = await harness(open);
    await sendTimes(h, 10, "/api/v1/auth/login");
    h.clock.advance(15_000);
    const refused = await h.send("/api/v1/auth/login");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal(refused.headers.get("retry-after"), "45");
    assert.equal(refused.headers.get("ratelimit-policy"), AUTH_POLICY);
    assert.equal(refused.headers.get("ratelimit"), '"minute";r=0;t=45');
    assert.ok(refused.headers.get("x-request-id"));
    const body = await refused.json();
    assert.equal(body.status, 429);
    assert.equal(body.code, "rate_limited");
    assert.equal(body.title, "Too Many Requests");
    assert.equal(body.type, "https://citadel.dev/problems/rate-limited");

    const otherAddress = await h.send("/api/v1/auth/login", { ip: "192.0.2.2" });
    assert.equal(otherAddress.status, 200);
    await otherAddress.body?.cancel();
    await h.close();
  },
);

rateTest("authRateLimit() counts IPv6 clients per /64 network", async (open) => {
  const h = await harness(open);
  for (let i = 1; i <= 10; i++) {
    await sendTimes(h, 1, "/api/v1/auth/login", { ip: `2001:db8:1:2::${i}` });
  }
  const sameNetwork = await h.send("/api/v1/auth/login", { ip: "2001:db8:1:2:ffff::1" });
  assert.equal(sameNetwork.status, 429);
  await sameNetwork.body?.cancel();
  await sendTimes(h, 1, "/api/v1/auth/login", { ip: "2001:db8:1:3::1" });
  await h.close();
});

rateTest(
  "authRateLimit() lets the address back in exactly when the minute window passes",
  async (open) => {
    const h = await harness(open);
    const start = h.clock.now();
    await sendTimes(h, 10, "/api/v1/auth/login");
    h.clock.set(start + 59_999);
    const refused = await h.send("/api/v1/auth/login");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
    await refused.body?.cancel();
    h.clock.set(start + 60_000);
    await sendTimes(h, 1, "/api/v1/auth/login");
    await h.close();
  },
);

rateTest(
  "authRateLimit() enforces 50 an hour across minutes and charges only the refusing window",
  async (open) => {
    const h = await harness(open);
    const start = h.clock.now();
    for (let minute = 0; minute < 5; minute++) {
      await sendTimes(h, 10, "/api/v1/auth/login");
      h.clock.advance(60_000);
    }
    const refused = await h.send("/api/v1/auth/login");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), String(3600 - 300));
    assert.equal(refused.headers.get("ratelimit"), `"hour";r=0;t=${3600 - 300}`);
    await refused.body?.cancel();
    assert.equal((await h.counters.peek("rl:auth:minute:192.0.2.1")).count, 0);
    assert.equal((await h.counters.peek("rl:auth:day:192.0.2.1")).count, 50);

    h.clock.set(start + 3_600_000);
    await sendTimes(h, 1, "/api/v1/auth/login");
    await h.close();
  },
);

rateTest("authRateLimit() enforces the daily limit", async (open) => {
  const h = await harness(open, {
    RATE_LIMIT_AUTH_PER_MINUTE: "5",
    RATE_LIMIT_AUTH_PER_HOUR: "100",
    RATE_LIMIT_AUTH_PER_DAY: "7",
  });
  await sendTimes(h, 5, "/api/v1/auth/login");
  h.clock.advance(60_000);
  await sendTimes(h, 2, "/api/v1/auth/login");
  const refused = await h.send("/api/v1/auth/login");
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), String(86_400 - 60));
  assert.equal(
    refused.headers.get("ratelimit-policy"),
    '"minute";q=5;w=60, "hour";q=100;w=3600, "day";q=7;w=86400',
  );
  await refused.body?.cancel();
  await h.close();
});

rateTest("authRateLimit() lets exactly 10 of 30 concurrent requests through", async (open) => {
  const h = await harness(open);
  const responses = await Promise.all(
    Array.from({ length: 30 }, () => h.send("/api/v1/auth/login")),
  );
  const statuses = responses.map((r) => r.status);
  await Promise.all(responses.map((r) => r.body?.cancel()));
  assert.equal(statuses.filter((s) => s === 200).length, 10);
  assert.equal(statuses.filter((s) => s === 429).length, 20);
  await h.close();
});

rateTest(
  "apiRateLimit() counts per principal and falls back to the client address",
  async (open) => {
    const h = await harness(open, { RATE_LIMIT_API_PER_MINUTE: "3" });
    const first = await h.send("/api/v1/me", { user: "user-a" });
    assert.equal(first.headers.get("ratelimit-policy"), '"api";q=3;w=60');
    assert.equal(first.headers.get("ratelimit"), '"api";r=2;t=60');
    await first.body?.cancel();
    await sendTimes(h, 2, "/api/v1/me", { user: "user-a" });
    const refused = await h.send("/api/v1/me", { user: "user-a" });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "60");
    assert.equal(refused.headers.get("ratelimit"), '"api";r=0;t=60');
    assert.equal((await refused.json()).code, "rate_limited");

    // Same address, other principal: its own budget.
    await sendTimes(h, 3, "/api/v1/me", { user: "user-b" });
    await sendTimes(h, 3, "/api/v1/me", { ip: "192.0.2.9" });
    const anonymous = await h.send("/api/v1/me", { ip: "192.0.2.9" });
    assert.equal(anonymous.status, 429);
    await anonymous.body?.cancel();
    await h.close();
  },
);

rateTest("apiRateLimit() holds an API key to the lower limit limitFor() returns", async (open) => {
  const h = await harness(open, { RATE_LIMIT_API_PER_MINUTE: "5" }, {
    limitFor: (c) => c.get("principal")?.kind === "api_key" ? 2 : undefined,
  });
  const first = await h.send("/api/v1/me", { apiKey: "key-1" });
  assert.equal(first.headers.get("ratelimit-policy"), '"api";q=5;w=60, "key";q=2;w=60');
  assert.equal(first.headers.get("ratelimit"), '"api";r=4;t=60, "key";r=1;t=60');
  await first.body?.cancel();
  await sendTimes(h, 1, "/api/v1/me", { apiKey: "key-1" });
  const refused = await h.send("/api/v1/me", { apiKey: "key-1" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("ratelimit-policy"), '"api";q=5;w=60, "key";q=2;w=60');
  await refused.body?.cancel();
  // The refused request did not spend the owner's budget: 2 of 5 are used.
  const user = await h.send("/api/v1/me", { user: "owner" });
  assert.equal(user.headers.get("ratelimit-policy"), '"api";q=5;w=60');
  assert.equal(user.headers.get("ratelimit"), '"api";r=2;t=60');
  await user.body?.cancel();
  await h.close();
});

rateTest("apiRateLimit() applies an API key's own rateLimitPerMinute by default", async (open) => {
  const h = await harness(open, { RATE_LIMIT_API_PER_MINUTE: "5" });
  await sendTimes(h, 1, "/api/v1/me", { apiKey: "key-1", keyLimit: 1 });
  const refused = await h.send("/api/v1/me", { apiKey: "key-1", keyLimit: 1 });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("ratelimit-policy"), '"api";q=5;w=60, "key";q=1;w=60');
  await refused.body?.cancel();
  await h.close();
});

rateTest(
  "apiRateLimit() counts every key and session of a user against one budget",
  async (open) => {
    const h = await harness(open, { RATE_LIMIT_API_PER_MINUTE: "4" });
    // Keys with a limit at or above the general one add no budget of their own.
    await sendTimes(h, 2, "/api/v1/me", { apiKey: "key-1", keyLimit: 1000 });
    await sendTimes(h, 1, "/api/v1/me", { apiKey: "key-2" });
    await sendTimes(h, 1, "/api/v1/me", { user: "owner" });
    for (const caller of [{ apiKey: "key-3" }, { user: "owner" }]) {
      const refused = await h.send("/api/v1/me", caller);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("ratelimit-policy"), '"api";q=4;w=60');
      await refused.body?.cancel();
    }
    const other = await h.send("/api/v1/me", { user: "someone-else" });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    await h.close();
  },
);

rateTest("apiRateLimit() gives an overridden route its own per-minute budget", async (open) => {
  const h = await harness(open, {
    RATE_LIMIT_API_PER_MINUTE: "3",
    RATE_LIMIT_ROUTES: "/api/v1/expensive=2",
  });
  const first = await h.send("/api/v1/expensive", { user: "user-a" });
  assert.equal(first.headers.get("ratelimit-policy"), '"route";q=2;w=60');
  assert.equal(first.headers.get("ratelimit"), '"route";r=1;t=60');
  await first.body?.cancel();
  await sendTimes(h, 1, "/api/v1/expensive", { user: "user-a" });
  const refused = await h.send("/api/v1/expensive", { user: "user-a" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("ratelimit"), '"route";r=0;t=60');
  await refused.body?.cancel();

  const general = await h.send("/api/v1/me", { user: "user-a" });
  assert.equal(general.status, 200);
  assert.equal(general.headers.get("ratelimit"), '"api";r=2;t=60');
  await general.body?.cancel();
  await h.close();
});

rateTest("apiRateLimit() keeps RateLimit on error responses of allowed requests", async (open) => {
  const h = await harness(open, { RATE_LIMIT_API_PER_MINUTE: "3" });
  const response = await h.send("/api/v1/broken", { user: "user-a" });
  assert.equal(response.status, 409);
  assert.equal(response.headers.get("ratelimit"), '"api";r=2;t=60');
  assert.equal((await response.json()).code, "conflict");
  await h.close();
});

rateTest("RATE_LIMIT_ENABLED=false turns every limit off", async (open) => {
  const h = await harness(open, { RATE_LIMIT_ENABLED: "false", RATE_LIMIT_API_PER_MINUTE: "1" });
  for (let i = 0; i < 20; i++) {
    const login = await h.send("/api/v1/auth/login");
    assert.equal(login.status, 200);
    assert.equal(login.headers.get("ratelimit"), null);
    await login.body?.cancel();
  }
  await sendTimes(h, 5, "/api/v1/me", { user: "user-a" });
  assert.equal((await h.counters.peek("rl:api:u:user-a")).count, 0);
  await h.close();
});

Deno.test("an unreachable counter store fails closed with 503 guard_unavailable", async () => {
  const h = await harness(() =>
    Promise.resolve({ counters: unreachableCounterStore(), close: () => Promise.resolve() })
  );
  for (const path of ["/api/v1/auth/login", "/api/v1/me"]) {
    const response = await h.send(path, { user: "user-a" });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "5");
    assert.equal((await response.json()).code, "guard_unavailable");
  }
  await h.close();
});

Deno.test("a limiter mounted on both /x and /x/* counts a request to /x once", async () => {
  const clock = new ManualClock();
  const counters = memoryCounterStore(clock);
  const settings = testConfig({ RATE_LIMIT_API_PER_MINUTE: "3" }).rateLimit;
  const auth = authRateLimit({ counters, clock, settings, clientKey: () => "192.0.2.1" });
  const api = apiRateLimit({ counters, clock, settings, clientKey: () => "192.0.2.1" });
  const app = new Hono<AppEnv>();
  for (const path of ["/x", "/x/*"]) app.use(path, auth, api);
  app.get("/x", (c) => c.text("ok"));
  const response = await app.request("/x");
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal((await counters.peek("rl:auth:minute:192.0.2.1")).count, 1);
  assert.equal((await counters.peek("rl:api:ip:192.0.2.1")).count, 1);
});
