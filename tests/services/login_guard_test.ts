import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { type CounterStore, CounterStoreUnavailable } from "../../src/platform/counter_store.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";
import {
  createLoginGuard,
  guardUnavailable,
  type LoginDecision,
  type LoginGuard,
  tooManyAttempts,
} from "../../src/services/login_guard.ts";
import { tempDir } from "../support/helpers.ts";
import { LOCAL_COUNTER_STORES } from "../support/counter_store_kinds.ts";
import { unreachableCounterStore } from "../support/unreachable_counter_store.ts";

const LIMITS = { maxAttempts: 5, windowMinutes: 15, ipMaxAttempts: 20, emailMaxAttempts: 100 };
const WINDOW_MS = 15 * 60_000;

interface Setup {
  guard: LoginGuard;
  clock: ManualClock;
  counters: CounterStore;
  /** Successful logins by `email|ipKey`, what the accounts table answers in production. */
  history: Set<string>;
}

function setup(clock: ManualClock, store: CounterStore): Setup {
  const history = new Set<string>();
  const guard = createLoginGuard({
    counters: store,
    clock,
    limits: LIMITS,
    hasSuccessHistory: (email, ipKey) => Promise.resolve(history.has(`${email}|${ipKey}`)),
  });
  return { guard, clock, counters: store, history };
}

/** Registers the test once per local counter store: memory and database. */
function guardTest(name: string, fn: (setup: Setup) => Promise<void>): void {
  for (const [kind, open] of LOCAL_COUNTER_STORES) {
    Deno.test(`${name} (${kind} store)`, async () => {
      const clock = new ManualClock();
      const store = await open(clock);
      try {
        await fn(setup(clock, store.counters));
      } finally {
        await store.close();
      }
    });
  }
}

/** One login with a wrong password: reserve, and report the failure when allowed. */
async function failOnce(guard: LoginGuard, ip: string, email: string): Promise<LoginDecision> {
  const decision = await guard.attempt(ip, email);
  if (decision.allowed) await guard.failed(decision.ticket);
  return decision;
}

async function failTimes(guard: LoginGuard, times: number, ip: string, email: string) {
  for (let i = 0; i < times; i++) {
    const decision = await failOnce(guard, ip, email);
    assert.equal(decision.allowed, true, `failure ${i + 1} should be allowed`);
  }
}

async function count(counters: CounterStore, key: string): Promise<number> {
  return (await counters.peek(key)).count;
}

guardTest(
  "attempt() allows 5 failures for a pair and refuses the 6th until the window ends",
  async ({ guard }) => {
    await failTimes(guard, 5, "203.0.113.7", "alice@example.com");
    const sixth = await guard.attempt("203.0.113.7", "alice@example.com");
    assert.deepEqual(sixth, { allowed: false, reason: "pair", retryAfterSeconds: 900 });
  },
);

guardTest(
  "attempts during a block are not counted and access returns exactly when the window passes",
  async ({ guard, clock, counters }) => {
    const ip = "203.0.113.7";
    const email = "alice@example.com";
    const start = clock.now();
    await failTimes(guard, 5, ip, email);

    clock.advance(60_000);
    for (let i = 0; i < 30; i++) {
      const refused = await guard.attempt(ip, email);
      assert.equal(refused.allowed, false);
    }
    assert.equal(await count(counters, `login:pair:${ip}|${email}`), 5);
    assert.equal(await count(counters, `login:ip:${ip}`), 5);
    assert.equal(await count(counters, `login:email:${email}`), 5);

    clock.set(start + 14 * 60_000);
    assert.deepEqual(await guard.attempt(ip, email), {
      allowed: false,
      reason: "pair",
      retryAfterSeconds: 60,
    });
    clock.set(start + WINDOW_MS - 1);
    assert.deepEqual(await guard.attempt(ip, email), {
      allowed: false,
      reason: "pair",
      retryAfterSeconds: 1,
    });
    clock.set(start + WINDOW_MS);
    assert.equal((await guard.attempt(ip, email)).allowed, true);
  },
);

guardTest(
  "50 concurrent wrong attempts for one pair allow at most 5 verifications",
  async ({ guard, counters }) => {
    const ip = "198.51.100.20";
    const email = "bob@example.com";
    let verifications = 0;
    const decisions = await Promise.all(Array.from({ length: 50 }, async () => {
      const decision = await guard.attempt(ip, email);
      if (decision.allowed) {
        verifications++;
        await guard.failed(decision.ticket);
      }
      return decision;
    }));
    assert.equal(verifications, 5);
    const refused = decisions.filter((d) => !d.allowed);
    assert.equal(refused.length, 45);
    assert.ok(
      refused.every((d) => !d.allowed && d.reason === "pair" && d.retryAfterSeconds === 900),
    );
    assert.equal(await count(counters, `login:pair:${ip}|${email}`), 5);
    assert.equal(await count(counters, `login:ip:${ip}`), 5);
    assert.equal(await count(counters, `login:email:${email}`), 5);
  },
);

Deno.test("two connections to one database file share the pair counter under concurrency", async () => {
  await using dir = await tempDir();
  const databaseUrl = `file:${dir.path}/citadel.db`;
  const first = await connect({ databaseUrl });
  await migrateUp(first.db);
  const second = await connect({ databaseUrl });
  const clock = new ManualClock();
  try {
    const guards = [first, second].map(({ db }) =>
      setup(clock, databaseCounterStore(db, clock)).guard
    );
    const decisions = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => failOnce(guards[i % 2], "198.51.100.30", "zoe@example.com"),
      ),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 5);
    const again = await guards[1].attempt("198.51.100.30", "zoe@example.com");
    assert.equal(again.allowed, false);
  } finally {
    await second.db.destroy();
    await first.db.destroy();
  }
});

guardTest(
  "50 concurrent attempts from one address across emails allow at most 20",
  async ({ guard }) => {
    const decisions = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => failOnce(guard, "198.51.100.21", `user${i}@example.com`),
      ),
    );
    assert.equal(
      decisions.filter((d) => d.allowed).length,
      20,
    );
    assert.ok(decisions.every((d) => d.allowed || d.reason === "ip"));
  },
);

guardTest(
  "pairs are counted separately: a blocked pair leaves other emails and addresses alone",
  async ({ guard }) => {
    await failTimes(guard, 5, "203.0.113.7", "alice@example.com");
    assert.equal((await guard.attempt("203.0.113.7", "alice@example.com")).allowed, false);
    assert.equal((await guard.attempt("203.0.113.8", "alice@example.com")).allowed, true);
    assert.equal((await guard.attempt("203.0.113.7", "carol@example.com")).allowed, true);
  },
);

guardTest(
  "attempt() refuses an address after 20 failures across emails, without counting the refusal",
  async ({ guard, clock, counters }) => {
    const ip = "192.0.2.55";
    for (let i = 0; i < 20; i++) await failTimes(guard, 1, ip, `victim${i}@example.com`);
    clock.advance(5 * 60_000);
    assert.deepEqual(await guard.attempt(ip, "victim20@example.com"), {
      allowed: false,
      reason: "ip",
      retryAfterSeconds: 600,
    });
    assert.equal(await count(counters, `login:ip:${ip}`), 20);
    assert.equal(await count(counters, "login:pair:192.0.2.55|victim20@example.com"), 0);
    assert.equal(await count(counters, "login:email:victim20@example.com"), 0);
    assert.equal((await guard.attempt("192.0.2.56", "victim20@example.com")).allowed, true);
  },
);

guardTest(
  "the email budget throttles only addresses without a successful login history",
  async ({ guard, history, counters }) => {
    const email = "ceo@example.com";
    for (let i = 0; i < 100; i++) await failTimes(guard, 1, `10.0.${i >> 8}.${i & 255}`, email);

    const stranger = await guard.attempt("10.9.9.9", email);
    assert.deepEqual(stranger, { allowed: false, reason: "email", retryAfterSeconds: 900 });
    assert.equal(await count(counters, `login:email:${email}`), 100);
    assert.equal(await count(counters, `login:ip:10.9.9.9`), 0);

    history.add(`${email}|192.168.1.10`);
    const owner = await guard.attempt("192.168.1.10", email);
    assert.equal(owner.allowed, true);
  },
);

guardTest(
  "succeeded() clears the pair's failures and refunds the address and email reservations",
  async ({ guard, counters }) => {
    const ip = "203.0.113.9";
    const email = "dave@example.com";
    await failTimes(guard, 4, ip, email);
    const decision = await guard.attempt(ip, email);
    assert.ok(decision.allowed);
    await guard.succeeded(decision.ticket);

    assert.equal(await count(counters, `login:pair:${ip}|${email}`), 0);
    assert.equal(await count(counters, `login:ip:${ip}`), 4);
    assert.equal(await count(counters, `login:email:${email}`), 4);
    await failTimes(guard, 5, ip, email);
    assert.equal((await guard.attempt(ip, email)).allowed, false);
  },
);

guardTest(
  "a ticket is settled once: a second succeeded() refunds nothing",
  async ({ guard, counters }) => {
    const ip = "203.0.113.10";
    await failTimes(guard, 3, ip, "erin@example.com");
    const decision = await guard.attempt(ip, "erin@example.com");
    assert.ok(decision.allowed);
    await guard.succeeded(decision.ticket);
    await guard.succeeded(decision.ticket);
    await guard.failed(decision.ticket);
    assert.equal(await count(counters, `login:ip:${ip}`), 3);
  },
);

guardTest(
  "succeeded() after the window rolled over does not eat a hit of the next window",
  async ({ guard, clock, counters }) => {
    const ip = "203.0.113.11";
    const decision = await guard.attempt(ip, "frank@example.com");
    assert.ok(decision.allowed);
    clock.advance(WINDOW_MS);
    await failTimes(guard, 1, ip, "grace@example.com");
    await guard.succeeded(decision.ticket);
    assert.equal(await count(counters, `login:ip:${ip}`), 1);
  },
);

guardTest(
  "emails are counted case-insensitively and unknown emails like known ones",
  async ({ guard }) => {
    await failTimes(guard, 3, "203.0.113.12", "Heidi@Example.com");
    await failTimes(guard, 2, "203.0.113.12", " heidi@example.COM ");
    assert.equal((await guard.attempt("203.0.113.12", "heidi@example.com")).allowed, false);
    await failTimes(guard, 5, "203.0.113.12", "nobody-registered@example.com");
    assert.equal(
      (await guard.attempt("203.0.113.12", "nobody-registered@example.com")).allowed,
      false,
    );
  },
);

Deno.test("an unreachable counter store fails closed with CounterStoreUnavailable", async () => {
  const clock = new ManualClock();
  const { guard } = setup(clock, unreachableCounterStore());
  await assert.rejects(guard.attempt("203.0.113.13", "ivan@example.com"), CounterStoreUnavailable);
});

Deno.test("tooManyAttempts() and guardUnavailable() are 429 and 503 problems with Retry-After", () => {
  const blocked = tooManyAttempts(42);
  assert.equal(blocked.status, 429);
  assert.equal(blocked.code, "too_many_attempts");
  assert.equal(blocked.headers["retry-after"], "42");
  const down = guardUnavailable(new CounterStoreUnavailable(new Error("down")));
  assert.equal(down.status, 503);
  assert.equal(down.code, "guard_unavailable");
  assert.equal(down.headers["retry-after"], "5");
});
