import assert from "node:assert/strict";
import {
  type AccessClaims,
  createJwtService,
  hs256KeySet,
  type JwtOptions,
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
