/**
 * The key ring's own promises: signing never waits for the database once the keys are
 * loaded (tokens are signed inside transactions that hold the one local connection), the
 * JWKS shows another process's new key at once, and another process's retirement holds
 * here once the ring's staleness bound (0.8 s of the injected clock) has passed.
 */
import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createServices, type Services } from "../../src/services/container.ts";
import { buildTestApp, tempDir } from "../support/helpers.ts";
import { asymmetricEnv, headerOf, rowInState } from "../support/signing_key_support.ts";

const ADMIN = { actorType: "user" as const, actorId: crypto.randomUUID() };

function claims(nowMs: number) {
  const iat = Math.floor(nowMs / 1000);
  return {
    sub: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID(),
    iat,
    exp: iat + 900,
    role: "user",
  };
}

Deno.test("once loaded, signing inside a transaction does not wait for the database, even with the ring stale", async () => {
  // :memory: has one connection, held by the transaction for its whole run.
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(asymmetricEnv("EdDSA"), { clock });
  const services = createServices(t.deps);
  try {
    await services.jwt.prepare();
    const kid = (await rowInState(t.deps.db, "current"))!.kid;
    clock.advance(60_000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const token = await t.deps.db.transaction().execute(async (trx) => {
      await trx.selectFrom("users").select("id").execute();
      const signing = services.jwt.sign(claims(clock.now()));
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("sign() waited for the database")), 2000);
      });
      try {
        return await Promise.race([signing, guard]);
      } finally {
        clearTimeout(timer);
      }
    });
    assert.equal(headerOf(token).kid, kid);
    assert.ok(await services.jwt.verify(token, clock.now()), "and the token verifies afterwards");
  } finally {
    await t.close();
  }
});

Deno.test("the JWKS shows a key another process published at once; its verifier set catches up within 0.8 s of the clock", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(
    asymmetricEnv("EdDSA", { DATABASE_URL: `file:${dir.path}/citadel.db` }),
    { clock },
  );
  const here = createServices(t.deps);
  const { db } = await connect(t.deps.config);
  const there: Services = createServices({ ...t.deps, db });
  try {
    await here.jwt.prepare();
    await there.jwt.prepare();
    const published = await there.keyAdmin.rotate({}, ADMIN);
    const kids = (await here.keyRing!.jwks()).map((k) => k.kid);
    assert.ok(kids.includes(published.next.kid), "no clock movement needed for the JWKS");

    await there.keyAdmin.rotate({ force: true }, ADMIN);
    await there.jwt.prepare();
    const token = await there.jwt.sign(claims(clock.now()));
    assert.equal(headerOf(token).kid, published.next.kid);
    clock.advance(801);
    assert.ok(await here.jwt.verify(token, clock.now()), "verified here once the bound passed");
  } finally {
    await db.destroy();
    await t.close();
  }
});

Deno.test("another process's retirement of the current key holds here once 0.8 s of the clock have passed", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(
    asymmetricEnv("ES256", { DATABASE_URL: `file:${dir.path}/citadel.db` }),
    { clock },
  );
  const here = createServices(t.deps);
  const { db } = await connect(t.deps.config);
  const there = createServices({ ...t.deps, db });
  try {
    await here.jwt.prepare();
    const token = await here.jwt.sign(claims(clock.now()));
    assert.ok(await here.jwt.verify(token, clock.now()));
    const kid = headerOf(token).kid as string;
    await there.keyAdmin.retire(kid, ADMIN);
    assert.equal(await there.jwt.verify(token, clock.now()), undefined, "at once where retired");
    clock.advance(801);
    assert.equal(await here.jwt.verify(token, clock.now()), undefined, "here, past the bound");
    await here.jwt.prepare();
    const next = await here.jwt.sign(claims(clock.now()));
    const current = (await rowInState(t.deps.db, "current"))!;
    assert.notEqual(current.kid, kid);
    assert.equal(headerOf(next).kid, current.kid, "this process signs with the replacement");
    assert.ok(await there.jwt.verify(next, clock.now()));
  } finally {
    await db.destroy();
    await t.close();
  }
});

Deno.test("a key planted in signing_keys by someone without ENCRYPTION_KEY is never trusted: the ring refuses to load it, so the forged token is refused and the JWKS does not publish it", async () => {
  for (const plant of ["a new next row with junk for a private key", "the current row's x"]) {
    const clock = new ManualClock(Date.now());
    const t = await buildTestApp(asymmetricEnv("EdDSA"), { clock });
    const services = createServices(t.deps);
    try {
      await services.jwt.prepare();
      const attacker = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      const { x } = await crypto.subtle.exportKey("jwk", attacker.publicKey);
      const current = (await rowInState(t.deps.db, "current"))!;
      let kid = current.kid;
      if (plant === "the current row's x") {
        const jwk = { ...JSON.parse(current.public_jwk), x };
        await t.deps.db.updateTable("signing_keys").set({ public_jwk: JSON.stringify(jwk) })
          .where("kid", "=", kid).execute();
      } else {
        kid = "planted";
        await t.deps.db.insertInto("signing_keys").values({
          kid,
          algorithm: "EdDSA",
          state: "next",
          public_jwk: JSON.stringify({
            kty: "OKP",
            crv: "Ed25519",
            x,
            kid,
            alg: "EdDSA",
            use: "sig",
          }),
          private_key: "junk",
          created_at: clock.now(),
          activated_at: null,
          deactivated_at: null,
          expires_at: null,
          retired_at: null,
        }).execute();
      }
      clock.advance(1000); // past the ring's staleness bound: the next use reloads
      const header = btoa(JSON.stringify({ alg: "EdDSA", typ: "JWT", kid }))
        .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
      const body = btoa(JSON.stringify({
        ...claims(clock.now()),
        iss: "citadel",
        aud: "citadel-api",
        role: "super_admin",
      })).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
      const signature = new Uint8Array(
        await crypto.subtle.sign(
          "Ed25519",
          attacker.privateKey,
          new TextEncoder().encode(`${header}.${body}`),
        ),
      );
      const forged = `${header}.${body}.${
        btoa(String.fromCharCode(...signature)).replaceAll("+", "-").replaceAll("/", "_")
          .replaceAll("=", "")
      }`;
      await assert.rejects(() => services.jwt.verify(forged, clock.now()), plant);
      await assert.rejects(() => services.keyRing!.jwks(), plant);
    } finally {
      await t.close();
    }
  }
});
