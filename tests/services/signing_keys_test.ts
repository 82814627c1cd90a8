/**
 * The signing-key life cycle over a real libSQL file, driven through the services the admin
 * API and `citadel keys` use (key_admin.ts over signing_keys.ts and the key ring), with the
 * clock injected: first key, rotate (publish, then promote), previous keys expiring, retire,
 * a change of JWT_ALGORITHM, and the audit trail. A second connection with services of its
 * own stands in for another process over the same database file.
 */
import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { AppError } from "../../src/errors.ts";
import { type AsymmetricAlgorithm } from "../../src/lib/signing_algorithms.ts";
import { type Clock, ManualClock, systemClock } from "../../src/platform/clock.ts";
import { SYSTEM_ACTOR } from "../../src/services/audit_events.ts";
import { createServices, type Services } from "../../src/services/container.ts";
import type { AppDeps } from "../../src/app_types.ts";
import { AlgorithmMismatchError, VERIFY_SKEW_SECONDS } from "../../src/services/signing_keys.ts";
import { buildTestApp, DENO, RUN_PERMISSIONS, tempDir, type TestApp } from "../support/helpers.ts";
import {
  asymmetricEnv,
  forge,
  headerOf,
  keyAuditEvents,
  keyRows,
  privateKeyOfRow,
  rowInState,
  signerOf,
} from "../support/signing_key_support.ts";

const TTL = 900;
const DELAY = 600;
const ADMIN = { actorType: "user" as const, actorId: crypto.randomUUID(), ip: "127.0.0.1" };

/** An installation over a database file in `dir`, with its own services. */
async function installation(
  dir: string,
  options: { alg?: AsymmetricAlgorithm; clock?: Clock; env?: Record<string, string> } = {},
) {
  const clock = options.clock ?? new ManualClock(Date.now());
  const t = await buildTestApp(
    asymmetricEnv(options.alg ?? "EdDSA", {
      DATABASE_URL: `file:${dir}/citadel.db`,
      ACCESS_TOKEN_TTL: String(TTL),
      JWKS_PUBLISH_DELAY: String(DELAY),
      ...options.env,
    }),
    { clock },
  );
  return { t, services: createServices(t.deps) };
}

/** Another "process": its own connection to the same file and its own services. */
async function peer(t: TestApp, changes: Partial<AppDeps> = {}) {
  const { db } = await connect(t.deps.config);
  const deps = { ...t.deps, db, ...changes };
  return { services: createServices(deps), close: () => db.destroy() };
}

/** A token as citadel signs one, after bringing the keys up to date as the routes do. */
async function mint(services: Services, clock: Clock, expInSeconds = TTL) {
  await services.jwt.prepare();
  const iat = Math.floor(clock.now() / 1000);
  return await services.jwt.sign({
    sub: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID().replaceAll("-", ""),
    iat,
    exp: iat + expInSeconds,
    role: "user",
  });
}

const verifies = async (services: Services, clock: Clock, token: string) =>
  await services.jwt.verify(token, clock.now()) !== undefined;

const jwksKids = async (services: Services) =>
  (await services.keyRing!.jwks()).map((k) => k.kid).sort();

const isProblem = (code: string) => (error: unknown) =>
  error instanceof AppError && error.code === code;

const RING_START = new URL("../support/key_ring_start.ts", import.meta.url).pathname;

/** A process that loads a key ring over the file once told to go, and prints its kid. */
function ringProcess(path: string, alg: AsymmetricAlgorithm, encryptionKey: string) {
  const child = new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, RING_START, path, alg, encryptionKey],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  return {
    async ready() {
      while (!seen.includes("ready")) {
        const { value, done } = await output.read();
        if (done) throw new Error(`ring process exited early: ${seen}`);
        seen += value;
      }
    },
    async go() {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    },
    async kid() {
      for (let r = await output.read(); !r.done; r = await output.read()) seen += r.value;
      const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      assert.equal(status.code, 0, stderr);
      return /kid (\S+)/.exec(seen)![1];
    },
  };
}

Deno.test("the first key is created exactly once when four processes start their key rings together over one file", async () => {
  await using dir = await tempDir();
  const { t } = await installation(dir.path);
  try {
    const processes = [1, 2, 3, 4].map(() =>
      ringProcess(`${dir.path}/citadel.db`, "EdDSA", t.deps.config.encryption.key!)
    );
    await Promise.all(processes.map((p) => p.ready()));
    await Promise.all(processes.map((p) => p.go()));
    const kids = await Promise.all(processes.map((p) => p.kid()));
    const rows = await keyRows(t.deps.db);
    assert.equal(rows.length, 1, JSON.stringify(rows.map((r) => r.state)));
    assert.equal(rows[0].state, "current");
    assert.deepEqual(kids, kids.map(() => rows[0].kid), "all four sign with the one key");
    const events = await keyAuditEvents(t.deps.db);
    assert.deepEqual(events.map((e) => [e.action, e.target_id]), [
      ["signing_key.created", rows[0].kid],
    ]);
    assert.equal(events[0].actor_type, "system");
    assert.equal(events[0].details.reason, "first_start");
  } finally {
    await t.close();
  }
});

Deno.test("rotate publishes a next key (in the JWKS, signing nothing); a second rotate before JWKS_PUBLISH_DELAY is refused with rotation_too_early", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  const clock = t.clock as ManualClock;
  try {
    const before = await mint(services, clock);
    const current = (await rowInState(t.deps.db, "current"))!;
    const published = await services.keyAdmin.rotate({}, ADMIN);
    assert.equal(published.action, "published");
    assert.equal(published.next.state, "next");
    assert.equal(published.next.activated_at, null);
    assert.deepEqual(await jwksKids(services), [current.kid, published.next.kid].sort());
    const after = await mint(services, clock);
    assert.equal(headerOf(after).kid, current.kid, "the next key signs nothing");
    assert.ok(await verifies(services, clock, before));

    clock.advance((DELAY - 1) * 1000);
    await assert.rejects(services.keyAdmin.rotate({}, ADMIN), (error: unknown) => {
      assert.ok(isProblem("rotation_too_early")(error), String(error));
      assert.equal((error as AppError).status, 409);
      assert.match((error as AppError).detail, /Rotate again in 1 s/);
      assert.match((error as AppError).detail, new RegExp(published.next.kid));
      return true;
    });
    assert.equal((await rowInState(t.deps.db, "current"))!.kid, current.kid, "nothing changed");
    assert.equal((await rowInState(t.deps.db, "next"))!.kid, published.next.kid);
    assert.equal((await keyRows(t.deps.db)).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("rotate after the delay promotes: new tokens carry the new kid, old ones verify until the previous key expires at deactivation + TTL + 60 s, then it leaves the JWKS", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  const clock = t.clock as ManualClock;
  try {
    const oldToken = await mint(services, clock);
    const old = (await rowInState(t.deps.db, "current"))!;
    const { next } = await services.keyAdmin.rotate({}, ADMIN);
    clock.advance(DELAY * 1000);
    const promotedAt = clock.now();
    const promoted = await services.keyAdmin.rotate({}, ADMIN);
    assert.equal(promoted.action, "promoted");
    assert.equal(promoted.current!.kid, next.kid);
    assert.equal(promoted.current!.state, "current");
    assert.equal(promoted.previous!.kid, old.kid);
    assert.equal(promoted.previous!.state, "previous");
    const expiresAt = promotedAt + (TTL + VERIFY_SKEW_SECONDS) * 1000;
    assert.equal(promoted.previous!.expires_at, new Date(expiresAt).toISOString());
    assert.notEqual(promoted.next.kid, next.kid);
    assert.equal(promoted.next.state, "next");

    const newToken = await mint(services, clock);
    assert.equal(headerOf(newToken).kid, next.kid, "the promoted key signs");
    assert.ok(await verifies(services, clock, newToken));
    assert.ok(await verifies(services, clock, oldToken), "a token of the previous key verifies");
    assert.deepEqual(await jwksKids(services), [old.kid, next.kid, promoted.next.kid].sort());

    // A token the previous key signed with a long life: the key's expiry, not the
    // token's, ends it.
    const { key } = await privateKeyOfRow(services, old);
    const iat = Math.floor(promotedAt / 1000) - 1;
    const longLived = await forge(
      JSON.stringify({ alg: "EdDSA", typ: "JWT", kid: old.kid }),
      {
        iss: "citadel",
        aud: "citadel-api",
        sub: crypto.randomUUID(),
        sid: crypto.randomUUID(),
        jti: "j",
        iat,
        exp: iat + 86_400,
        role: "user",
      },
      signerOf("EdDSA", key),
    );
    clock.set(expiresAt - 1);
    assert.ok(await verifies(services, clock, longLived), "1 ms before the previous key expires");
    assert.ok((await jwksKids(services)).includes(old.kid));
    clock.set(expiresAt);
    assert.deepEqual(await jwksKids(services), [next.kid, promoted.next.kid].sort());
    // The ring may be up to 0.8 s stale (the 60 s of skew covers it); past that, refused.
    clock.set(expiresAt + 801);
    assert.equal(await verifies(services, clock, longLived), false, "past its expiry");
    assert.equal((await rowInState(t.deps.db, "previous"))!.kid, old.kid, "the row stays");
    const later = await mint(services, clock);
    assert.equal(headerOf(later).kid, next.kid);
    assert.ok(await verifies(services, clock, later));
  } finally {
    await t.close();
  }
});

Deno.test("a previous key lives out the serving process's own ACCESS_TOKEN_TTL when the rotation ran with a shorter one (e.g. citadel keys rotate with another configuration)", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  const clock = t.clock as ManualClock;
  // The rotating "process": same file and clock, but ACCESS_TOKEN_TTL=60.
  const { db } = await connect(t.deps.config);
  const shortTtl = createServices({
    ...t.deps,
    db,
    config: { ...t.deps.config, jwt: { ...t.deps.config.jwt, accessTtlSeconds: 60 } },
  });
  try {
    const oldToken = await mint(services, clock);
    const old = (await rowInState(t.deps.db, "current"))!;
    await shortTtl.keyAdmin.rotate({}, ADMIN);
    clock.advance(DELAY * 1000);
    const promoted = await shortTtl.keyAdmin.rotate({}, ADMIN);
    const promotedAt = clock.now();
    assert.equal(
      promoted.previous!.expires_at,
      new Date(promotedAt + (60 + VERIFY_SKEW_SECONDS) * 1000).toISOString(),
    );
    // Past the rotating process's expiry, inside the serving process's TTL: still valid here.
    clock.set(promotedAt + 200_000);
    assert.ok(await verifies(services, clock, oldToken), "the serving TTL keeps the key");
    assert.ok((await jwksKids(services)).includes(old.kid));
    clock.set(promotedAt + (TTL + VERIFY_SKEW_SECONDS) * 1000 + 801);
    assert.equal(await verifies(services, clock, oldToken), false);
    assert.ok(!(await jwksKids(services)).includes(old.kid));
  } finally {
    await db.destroy();
    await t.close();
  }
});

Deno.test("rotate with force promotes at once; an audit event names it forced", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  try {
    await services.keyRing!.current();
    const { next } = await services.keyAdmin.rotate({}, ADMIN);
    const promoted = await services.keyAdmin.rotate({ force: true }, ADMIN);
    assert.equal(promoted.action, "promoted");
    assert.equal(promoted.current!.kid, next.kid);
    const promotion = (await keyAuditEvents(t.deps.db)).find((e) =>
      e.action === "signing_key.promoted"
    )!;
    assert.equal(promotion.details.forced, true);
  } finally {
    await t.close();
  }
});

Deno.test("retiring the previous key refuses its tokens at once in this process and within 1 s in another process over the same file", async () => {
  await using dir = await tempDir();
  // Real clocks: the bound is wall-clock time.
  const { t, services } = await installation(dir.path, { clock: systemClock });
  const other = await peer(t);
  try {
    const oldToken = await mint(services, systemClock);
    const old = (await rowInState(t.deps.db, "current"))!;
    await services.keyAdmin.rotate({}, ADMIN);
    await services.keyAdmin.rotate({ force: true }, ADMIN);
    assert.ok(await verifies(services, systemClock, oldToken));
    assert.ok(await verifies(other.services, systemClock, oldToken), "the peer knows it too");

    const retired = await services.keyAdmin.retire(old.kid, ADMIN);
    const retiredAt = performance.now();
    assert.equal(retired.state, "retired");
    assert.ok(retired.retired_at);
    assert.equal(await verifies(services, systemClock, oldToken), false, "at once, here");
    assert.ok(!(await jwksKids(services)).includes(old.kid));
    assert.ok(!(await jwksKids(other.services)).includes(old.kid), "the JWKS reads the file");
    while (await verifies(other.services, systemClock, oldToken)) {
      assert.ok(performance.now() - retiredAt < 1000, "the peer still accepts it after 1 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(performance.now() - retiredAt < 1000);
    const fresh = await mint(other.services, systemClock);
    assert.ok(await verifies(services, systemClock, fresh), "signing goes on");
  } finally {
    await other.close();
    await t.close();
  }
});

Deno.test("retiring the current key promotes the next one, and signing continues under it", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  const clock = t.clock as ManualClock;
  try {
    const oldToken = await mint(services, clock);
    const old = (await rowInState(t.deps.db, "current"))!;
    const { next } = await services.keyAdmin.rotate({}, ADMIN);
    await services.keyAdmin.retire(old.kid, ADMIN);
    assert.equal(await verifies(services, clock, oldToken), false);
    assert.equal((await rowInState(t.deps.db, "current"))!.kid, next.kid);
    assert.equal(await rowInState(t.deps.db, "next"), undefined);
    const token = await mint(services, clock);
    assert.equal(headerOf(token).kid, next.kid);
    assert.ok(await verifies(services, clock, token));
    assert.deepEqual(await jwksKids(services), [next.kid]);
    const retirement = (await keyAuditEvents(t.deps.db)).find((e) =>
      e.action === "signing_key.retired"
    )!;
    assert.equal(retirement.target_id, old.kid);
    assert.equal(retirement.details.replaced_by, next.kid);
    assert.equal(retirement.details.state, "current");
  } finally {
    await t.close();
  }
});

Deno.test("retiring the current key with no next key creates a new current key, and signing continues under it", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  const clock = t.clock as ManualClock;
  try {
    const oldToken = await mint(services, clock);
    const old = (await rowInState(t.deps.db, "current"))!;
    await services.keyAdmin.retire(old.kid, ADMIN);
    const current = (await rowInState(t.deps.db, "current"))!;
    assert.notEqual(current.kid, old.kid);
    assert.equal(await verifies(services, clock, oldToken), false);
    const token = await mint(services, clock);
    assert.equal(headerOf(token).kid, current.kid);
    assert.ok(await verifies(services, clock, token));
    assert.deepEqual(await jwksKids(services), [current.kid]);
    // Retiring it again changes nothing and records nothing more.
    const events = (await keyAuditEvents(t.deps.db)).length;
    const again = await services.keyAdmin.retire(old.kid, ADMIN);
    assert.equal(again.state, "retired");
    assert.equal((await keyAuditEvents(t.deps.db)).length, events);
  } finally {
    await t.close();
  }
});

Deno.test("retire of an unknown kid is 404 key_not_found and changes nothing", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  try {
    await services.keyRing!.current();
    const before = await keyRows(t.deps.db);
    await assert.rejects(
      services.keyAdmin.retire("no-such-kid", ADMIN),
      isProblem("key_not_found"),
    );
    assert.deepEqual(await keyRows(t.deps.db), before);
  } finally {
    await t.close();
  }
});

Deno.test("switching JWT_ALGORITHM from EdDSA to ES256 at a server's start retires every EdDSA key; their tokens are refused and ES256 signs; anything else with the other algorithm is refused, not switched", async () => {
  await using dir = await tempDir();
  const eddsa = await installation(dir.path);
  const clock = eddsa.t.clock as ManualClock;
  const edToken = await mint(eddsa.services, clock);
  await eddsa.services.keyAdmin.rotate({}, ADMIN);
  await eddsa.services.keyAdmin.rotate({ force: true }, ADMIN);
  const edKids = (await keyRows(eddsa.t.deps.db)).map((r) => r.kid).sort();
  assert.equal(edKids.length, 3, "current, previous and next");
  const encryptionKey = eddsa.t.deps.config.encryption.key!;
  await eddsa.t.close();

  const es = await installation(dir.path, {
    alg: "ES256",
    clock,
    env: { ENCRYPTION_KEY: encryptionKey },
  });
  try {
    // Only a starting server switches; before that the ring refuses to guess.
    await assert.rejects(() => es.services.jwt.prepare(), AlgorithmMismatchError);
    assert.equal((await rowInState(es.t.deps.db, "current"))!.algorithm, "EdDSA");
    await es.services.keyAdmin.start();
    const esToken = await mint(es.services, clock);
    const rows = await keyRows(es.t.deps.db);
    const byKid = new Map(rows.map((r) => [r.kid, r]));
    for (const kid of edKids) assert.equal(byKid.get(kid)!.state, "retired", kid);
    const current = (await rowInState(es.t.deps.db, "current"))!;
    assert.equal(current.algorithm, "ES256");
    assert.deepEqual(headerOf(esToken), { alg: "ES256", typ: "JWT", kid: current.kid });
    assert.ok(await verifies(es.services, clock, esToken));
    assert.equal(await verifies(es.services, clock, edToken), false);
    assert.deepEqual(await jwksKids(es.services), [current.kid]);
    const events = await keyAuditEvents(es.t.deps.db);
    const retirements = events.filter((e) => e.action === "signing_key.retired");
    assert.deepEqual(retirements.map((e) => e.target_id).sort(), edKids);
    for (const e of retirements) assert.equal(e.actor_type, SYSTEM_ACTOR.actorType);
    const created = events.at(-1)!;
    assert.equal(created.action, "signing_key.created");
    assert.equal(created.target_id, current.kid);
    assert.equal(created.details.reason, "algorithm_changed");
  } finally {
    await es.t.close();
  }
});

Deno.test("every step of the life cycle is audited with its actor: created, created (next), promoted, retired", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path);
  try {
    await services.keyRing!.current();
    const first = (await rowInState(t.deps.db, "current"))!;
    const { next } = await services.keyAdmin.rotate({}, ADMIN);
    const promoted = await services.keyAdmin.rotate({ force: true }, ADMIN);
    await services.keyAdmin.retire(first.kid, ADMIN);
    const events = await keyAuditEvents(t.deps.db);
    assert.deepEqual(events.map((e) => [e.action, e.target_id, e.actor_type, e.outcome]), [
      ["signing_key.created", first.kid, "system", "success"],
      ["signing_key.created", next.kid, "user", "success"],
      ["signing_key.promoted", next.kid, "user", "success"],
      ["signing_key.retired", first.kid, "user", "success"],
    ]);
    for (const e of events.slice(1)) assert.equal(e.actor_id, ADMIN.actorId);
    assert.equal(events[2].details.previous_kid, first.kid);
    assert.equal(events[2].details.next_kid, promoted.next.kid);
    assert.equal(events[3].details.state, "previous");
    const text = JSON.stringify(events);
    for (const row of await keyRows(t.deps.db)) {
      assert.ok(!text.includes(row.private_key), "no key material in the audit log");
    }
  } finally {
    await t.close();
  }
});
