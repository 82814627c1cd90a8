import assert from "node:assert/strict";
import { toBase64Url } from "../../src/lib/crypto.ts";
import {
  type GeneratedKeyPair,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  SIGNATURE_PARAMS,
} from "../../src/lib/signing_algorithms.ts";
import {
  type AccessClaims,
  createJwtService,
  headerOf,
  hs256KeySet,
  type JwtOptions,
  type KeySet,
} from "../../src/services/jwt.ts";
import { TEST_SECRET } from "../support/helpers.ts";

const OPTIONS = { secret: TEST_SECRET, issuer: "citadel", audience: "citadel-api" };

/** The HS256 service of a secret (and previous secret), as the container builds it. */
function hs256Jwt(
  options: { secret: string; previousSecret?: string; issuer: string; audience: string },
) {
  const set = hs256KeySet(options.secret, options.previousSecret);
  const jwtOptions: JwtOptions = {
    keys: { current: () => set, forSigning: () => set },
    issuer: options.issuer,
    audience: options.audience,
  };
  return createJwtService(jwtOptions);
}
const NOW = Date.UTC(2026, 0, 1);

function claims(overrides: Partial<AccessClaims> = {}) {
  const iat = Math.floor(NOW / 1000);
  return {
    sub: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    jti: "0123456789abcdef0123456789abcdef",
    iat,
    exp: iat + 900,
    role: "user",
    ...overrides,
  };
}

/** The token with one character of its signature changed. */
function tampered(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return token.slice(0, -2) + last + token.at(-1);
}

Deno.test("verify() accepts the same token again until its exp, then refuses it", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const token = await jwt.sign(claims());
  const first = await jwt.verify(token, NOW);
  assert.equal(first?.iss, "citadel");
  assert.deepEqual(await jwt.verify(token, NOW + 60_000), first);
  assert.equal(await jwt.verify(token, NOW + 899_000), first);
  assert.equal(await jwt.verify(token, NOW + 900_000), undefined, "expired at exp");
  assert.equal(await jwt.verify(token, NOW + 901_000), undefined);
});

Deno.test("verify() still refuses a forged signature after the genuine token was accepted", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const token = await jwt.sign(claims());
  assert.ok(await jwt.verify(token, NOW));
  assert.equal(await jwt.verify(tampered(token), NOW), undefined);
  assert.equal(await jwt.verify(`${token}x`, NOW), undefined);
  assert.ok(await jwt.verify(token, NOW), "the genuine token is unaffected");
});

Deno.test("verify() refuses a token issued for a later time than the clock allows, on every call", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const iat = Math.floor(NOW / 1000) + 120;
  const token = await jwt.sign(claims({ iat, exp: iat + 900 }));
  assert.equal(await jwt.verify(token, NOW), undefined);
  assert.equal(await jwt.verify(token, NOW), undefined);
  assert.ok(await jwt.verify(token, NOW + 120_000), "valid once the clock catches up");
});

Deno.test("verify() hands out frozen claims, so no caller can change what the next one sees", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const token = await jwt.sign(claims({ role: "user" }));
  const verified = await jwt.verify(token, NOW);
  assert.ok(Object.isFrozen(verified));
  assert.throws(() => {
    (verified as { role: string }).role = "super_admin";
  }, TypeError);
  assert.equal((await jwt.verify(token, NOW))?.role, "user");
});

Deno.test("verify() keeps working past its memory limit: evicted tokens are verified again", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const tokens = await Promise.all(Array.from({ length: 4100 }, () => jwt.sign(claims())));
  for (const token of tokens) assert.ok(await jwt.verify(token, NOW));
  assert.ok(await jwt.verify(tokens[0], NOW), "the oldest, evicted, verifies again");
  assert.equal(await jwt.verify(tampered(tokens[0]), NOW), undefined);
});

Deno.test("a token of another key or audience is refused whatever was verified before", async () => {
  const jwt = hs256Jwt(OPTIONS);
  const other = hs256Jwt({ ...OPTIONS, audience: "someone-else" });
  const token = await other.sign(claims());
  assert.ok(await other.verify(token, NOW));
  assert.equal(await jwt.verify(token, NOW), undefined);
  const foreign = hs256Jwt({ ...OPTIONS, secret: `${TEST_SECRET}-other` });
  assert.equal(await jwt.verify(await foreign.sign(claims()), NOW), undefined);
});

Deno.test("a token whose verification straddles a key retirement is answered once but not remembered: the retired key's forgery is refused afterwards", async () => {
  const params = SIGNATURE_PARAMS.EdDSA;
  const retired = await generateKeyPair("EdDSA");
  const kept = await generateKeyPair("EdDSA");
  const setOf = async (version: number, pairs: GeneratedKeyPair[]): Promise<KeySet> => {
    const verifiers = new Map();
    for (const pair of pairs) {
      verifiers.set(headerOf("EdDSA", pair.publicJwk.kid), {
        key: await importPublicKey("EdDSA", pair.publicJwk),
        params,
      });
    }
    const signer = {
      header: headerOf("EdDSA", pairs[0].publicJwk.kid),
      key: await importPrivateKey("EdDSA", toBase64Url(pairs[0].privatePkcs8)),
      params,
    };
    return { version, signer, verifiers };
  };
  const before = await setOf(1, [retired, kept]);
  const after = await setOf(2, [kept]);
  let current = before;
  const jwt = createJwtService({
    keys: { current: () => current, forSigning: () => current },
    issuer: "citadel",
    audience: "citadel-api",
  });
  // What the holder of a compromised key would mint: a super admin for the next 75 years.
  const encoder = new TextEncoder();
  const body = toBase64Url(encoder.encode(JSON.stringify({
    ...claims({ role: "super_admin" }),
    iss: "citadel",
    aud: "citadel-api",
    exp: Math.floor(NOW / 1000) + 75 * 365 * 86_400,
  })));
  const input = `${headerOf("EdDSA", retired.publicJwk.kid)}.${body}`;
  const signature = await crypto.subtle.sign(
    params,
    await importPrivateKey("EdDSA", toBase64Url(retired.privatePkcs8)),
    encoder.encode(input),
  );
  const forged = `${input}.${toBase64Url(new Uint8Array(signature))}`;

  const inFlight = jwt.verify(forged, NOW); // took the old set, now checking the signature
  current = after; // the ring refreshed: the key is retired
  assert.equal(await jwt.verify("a.b.c", NOW), undefined); // another request sees the new set
  assert.ok(await inFlight, "the request that began before the retirement is answered");
  assert.equal(await jwt.verify(forged, NOW + 3_600_000), undefined, "and then refused");
  assert.equal(await jwt.verify(forged, NOW), undefined);
});
