/**
 * `GET /.well-known/jwks.json` over real HTTP on loopback: what it publishes in each mode,
 * that nothing private ever leaves, its caching headers (and only its own), and that a
 * client with no credential (a gateway, another service) reaches it without tripping the
 * path guard. Also the point of it all: an access token verifies with the published JWK
 * alone.
 */
import assert from "node:assert/strict";
import { fromBase64Url } from "../../src/lib/crypto.ts";
import type { AsymmetricAlgorithm } from "../../src/lib/signing_algorithms.ts";
import { adminSession, login, registerUser } from "../support/auth_support.ts";
import { loopbackApp } from "../support/loopback_client.ts";
import { asymmetricEnv, headerOf } from "../support/signing_key_support.ts";

const PATH = "/.well-known/jwks.json";
/** A member name of a private (or symmetric) JWK, anywhere in the raw text. */
const PRIVATE_MEMBER = /"(d|p|q|dp|dq|qi|oth|k|r|t)"\s*:/;

Deno.test('JWKS with HS256: exactly {"keys":[]}, public and cacheable, no credential needed', async () => {
  await using lb = await loopbackApp();
  const res = await lb.call("GET", PATH);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{"keys":[]}');
  assert.match(res.headers.get("content-type")!, /^application\/json/);
  assert.equal(res.headers.get("cache-control"), "public, max-age=300");
});

for (const alg of ["EdDSA", "ES256"] as AsymmetricAlgorithm[]) {
  Deno.test(`JWKS with ${alg}: public JWKs only, with kid, kty, alg, use and the curve fields; nothing private in the raw body`, async () => {
    await using lb = await loopbackApp(asymmetricEnv(alg));
    const superToken = (await adminSession(lb.t, "super_admin")).tokens.access_token;
    const rotated = await lb.json("POST", "/api/v1/admin/keys/rotate", {
      bearer: superToken,
      body: {},
    });
    assert.equal(rotated.status, 200);
    const res = await lb.call("GET", PATH);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    assert.equal(res.headers.get("cache-control"), "public, max-age=300");
    const raw = await res.text();
    assert.doesNotMatch(raw, PRIVATE_MEMBER);
    const rows = await lb.t.deps.db.selectFrom("signing_keys").selectAll().execute();
    for (const row of rows) {
      assert.ok(!raw.includes(row.private_key), "no envelope");
      assert.ok(!raw.includes(row.private_key.split(".")[3]), "no ciphertext");
    }
    const { keys } = JSON.parse(raw) as { keys: Record<string, string>[] };
    assert.equal(keys.length, 2, "current and the published next key");
    assert.deepEqual(
      keys.map((k) => k.kid).sort(),
      rows.map((r) => r.kid).sort(),
    );
    const members = alg === "EdDSA"
      ? ["alg", "crv", "kid", "kty", "use", "x"]
      : ["alg", "crv", "kid", "kty", "use", "x", "y"];
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), members);
      assert.equal(key.alg, alg);
      assert.equal(key.use, "sig");
      assert.equal(key.kty, alg === "EdDSA" ? "OKP" : "EC");
      assert.equal(key.crv, alg === "EdDSA" ? "Ed25519" : "P-256");
    }
  });

  Deno.test(`JWKS with ${alg}: an access token verifies with the JWK its kid names, fetched over HTTP, and nothing else`, async () => {
    await using lb = await loopbackApp(asymmetricEnv(alg));
    const token = (await login(lb.t, (await registerUser(lb.t)).email)).access_token;
    const { keys } = await (await fetch(`${lb.url}${PATH}`)).json();
    const header = headerOf(token);
    assert.equal(header.alg, alg);
    const jwk = keys.find((k: { kid: string }) => k.kid === header.kid);
    assert.ok(jwk, "the token's kid is published");
    const params = alg === "EdDSA"
      ? { name: "Ed25519" }
      : { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const key = await crypto.subtle.importKey("jwk", jwk, params, false, ["verify"]);
    const [h, p, s] = token.split(".");
    const ok = await crypto.subtle.verify(
      params,
      key,
      fromBase64Url(s),
      new TextEncoder().encode(`${h}.${p}`),
    );
    assert.equal(ok, true);
  });
}

Deno.test("JWKS: public caching is this route's alone; every other answer, errors included, keeps no-store", async () => {
  await using lb = await loopbackApp(asymmetricEnv("EdDSA"));
  const token = (await adminSession(lb.t, "super_admin")).tokens.access_token;
  const jwks = await lb.call("GET", PATH);
  await jwks.body?.cancel();
  assert.equal(jwks.headers.get("cache-control"), "public, max-age=300");
  assert.equal(jwks.headers.get("x-content-type-options"), "nosniff", "security headers stay");
  for (
    const [method, path, bearer] of [
      ["GET", "/api/v1/me", token],
      ["GET", "/api/v1/me", undefined],
      ["GET", "/api/v1/admin/keys", token],
      ["GET", "/health", undefined],
      ["GET", "/.well-known/jwks.json.bak", undefined],
      ["GET", "/.well-known/openid-configuration", undefined],
      ["POST", PATH, undefined],
    ] as const
  ) {
    const res = await lb.call(method, path, { bearer });
    await res.body?.cancel();
    assert.equal(res.headers.get("cache-control"), "no-store", `${method} ${path}`);
  }
});

Deno.test("JWKS: a credential-less client may fetch it again and again from one address without being blocked", async () => {
  await using lb = await loopbackApp(asymmetricEnv("EdDSA"), {});
  const threshold = Math.max(
    lb.t.deps.config.pathGuard.sensitiveHits,
    lb.t.deps.config.pathGuard.notFoundHits,
  );
  for (let i = 0; i < threshold + 20; i++) {
    const res = await lb.call("GET", i % 2 ? PATH : `${PATH}?cache-buster=${i}`, {
      ip: "203.0.113.7",
    });
    const text = await res.text();
    assert.equal(res.status, 200, `request ${i}: ${text}`);
    assert.match(text, /^\{"keys":\[\{/);
  }
  const probe = await lb.call("GET", "/api/v1/me", { ip: "203.0.113.7" });
  assert.equal(probe.status, 401, "not blocked: an unauthenticated call is merely refused");
  await probe.body?.cancel();
});
