/**
 * The JWT service in EdDSA and ES256 mode, attacked: every forgery is built on a genuine
 * token's claims (a real user, a live session), so a forgery the service accepted would be
 * answered 200 by `GET /api/v1/me`. Each is checked both through the service and over the
 * app.
 */
import assert from "node:assert/strict";
import { fromBase64Url, importHmacKey } from "../../src/lib/crypto.ts";
import {
  type AsymmetricAlgorithm,
  generateKeyPair,
  importPrivateKey,
} from "../../src/lib/signing_algorithms.ts";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { createServices } from "../../src/services/container.ts";
import { hs256KeyId } from "../../src/services/jwt.ts";
import { PRIVATE_KEY_FIELD } from "../../src/services/signing_keys.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, TEST_SECRET, type TestApp } from "../support/helpers.ts";
import {
  asymmetricEnv,
  b64,
  claimsOf,
  forge,
  headerOf,
  hmacSignerOf,
  privateKeyOfRow,
  rowInState,
  signerOf,
} from "../support/signing_key_support.ts";

const encoder = new TextEncoder();
const ALGORITHMS: AsymmetricAlgorithm[] = ["EdDSA", "ES256"];
const other = (alg: AsymmetricAlgorithm): AsymmetricAlgorithm =>
  alg === "EdDSA" ? "ES256" : "EdDSA";

/** An installation with a logged-in user: its genuine token, current key and services. */
async function installation(alg: AsymmetricAlgorithm, env: Record<string, string> = {}) {
  const t = await buildTestApp(asymmetricEnv(alg, env));
  const services = createServices(t.deps);
  const user = await registerUser(t);
  const { access_token: token } = await login(t, user.email);
  const current = (await rowInState(t.deps.db, "current"))!;
  return { t, services, token, current, claims: claimsOf(token) };
}

/** Whether the token is accepted, by the service and by the app; both must agree. */
async function accepted(t: TestApp, services: ReturnType<typeof createServices>, token: string) {
  const byService = await services.jwt.verify(token, t.clock.now()) !== undefined;
  const res = await authed(t, "GET", "/api/v1/me", token);
  await res.body?.cancel();
  assert.equal(res.status === 200, byService, `service and app disagree on ${token}`);
  if (!byService) assert.equal(res.status, 401);
  return byService;
}

for (const alg of ALGORITHMS) {
  Deno.test(`${alg}: a login's access token carries the current key's kid in citadel's exact header, and verifies`, async () => {
    const { t, services, token, current } = await installation(alg);
    try {
      assert.equal(current.algorithm, alg);
      assert.equal(
        token.split(".")[0],
        b64(JSON.stringify({ alg, typ: "JWT", kid: current.kid })),
      );
      assert.deepEqual(headerOf(token), { alg, typ: "JWT", kid: current.kid });
      assert.equal(await accepted(t, services, token), true);
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: an HS256 token with the current kid, HMAC-signed with the public key in any encoding, is refused`, async () => {
    const { t, services, token, current, claims } = await installation(alg);
    try {
      const jwk = JSON.parse(current.public_jwk) as Record<string, string>;
      const jwks = await (await t.app.request("/.well-known/jwks.json")).text();
      const spki = new Uint8Array(
        await crypto.subtle.exportKey(
          "spki",
          await crypto.subtle.importKey(
            "jwk",
            jwk,
            alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" },
            true,
            ["verify"],
          ),
        ),
      );
      const pem = `-----BEGIN PUBLIC KEY-----\n${
        btoa(String.fromCharCode(...spki)).match(/.{1,64}/g)!.join("\n")
      }\n-----END PUBLIC KEY-----\n`;
      const rawPoint = alg === "EdDSA"
        ? fromBase64Url(jwk.x)
        : new Uint8Array([4, ...fromBase64Url(jwk.x), ...fromBase64Url(jwk.y)]);
      const secrets: Record<string, Uint8Array<ArrayBuffer>> = {
        "raw x": fromBase64Url(jwk.x),
        "raw public point": rawPoint,
        "x as base64url text": encoder.encode(jwk.x),
        "stored JWK JSON": encoder.encode(current.public_jwk),
        "JWK JSON, members sorted": encoder.encode(
          JSON.stringify(Object.fromEntries(Object.entries(jwk).sort())),
        ),
        "JWK JSON as base64url text": encoder.encode(b64(current.public_jwk)),
        "JWKS document": encoder.encode(jwks),
        "SPKI DER": spki,
        "SPKI PEM": encoder.encode(pem),
        "kid": encoder.encode(current.kid),
      };
      const headers = [
        JSON.stringify({ alg: "HS256", typ: "JWT", kid: current.kid }),
        JSON.stringify({ alg: "HS256", kid: current.kid }),
        JSON.stringify({ alg: "HS256", typ: "JWT" }),
      ];
      for (const [what, secret] of Object.entries(secrets)) {
        for (const header of headers) {
          const forged = await forge(header, claims, hmacSignerOf(secret));
          assert.equal(await accepted(t, services, forged), false, `${what}, header ${header}`);
        }
      }
      assert.equal(await accepted(t, services, token), true, "the genuine token still works");
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: an HS256 token signed with the configured JWT_SECRET_KEY, under its own HS256 kid, is refused`, async () => {
    const { t, services, claims } = await installation(alg);
    try {
      const kid = await hs256KeyId(TEST_SECRET);
      const forged = await forge(
        JSON.stringify({ alg: "HS256", typ: "JWT", kid }),
        claims,
        async (input) => await crypto.subtle.sign("HMAC", await importHmacKey(TEST_SECRET), input),
      );
      assert.equal(await accepted(t, services, forged), false);
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: alg none, in every spelling, with or without the kid and a signature, is refused`, async () => {
    const { t, services, token, current, claims } = await installation(alg);
    try {
      const body = b64(JSON.stringify(claims));
      const signature = token.split(".")[2];
      for (const none of ["none", "None", "NONE", "nOnE", ""]) {
        for (const header of [{ alg: none, typ: "JWT", kid: current.kid }, { alg: none }]) {
          const h = b64(JSON.stringify(header));
          for (const forged of [`${h}.${body}.`, `${h}.${body}`, `${h}.${body}.${signature}`]) {
            assert.equal(await accepted(t, services, forged), false, forged);
          }
        }
      }
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: a token of an unknown kid is refused, whether signed by that unknown key or by the current one`, async () => {
    const { t, services, current, claims } = await installation(alg);
    try {
      const stranger = await generateKeyPair(alg);
      const strangerKey = await importPrivateKey(alg, toBase64Url(stranger.privatePkcs8));
      const ownHeader = JSON.stringify({ alg, typ: "JWT", kid: stranger.publicJwk.kid });
      assert.equal(
        await accepted(t, services, await forge(ownHeader, claims, signerOf(alg, strangerKey))),
        false,
        "a key the installation never had",
      );
      const { key } = await privateKeyOfRow(services, current);
      for (
        const kid of [stranger.publicJwk.kid, "", "0", `${current.kid}x`, current.kid.slice(1)]
      ) {
        const header = JSON.stringify({ alg, typ: "JWT", kid });
        assert.equal(
          await accepted(t, services, await forge(header, claims, signerOf(alg, key))),
          false,
          `current key's signature under kid ${JSON.stringify(kid)}`,
        );
      }
      const noKid = JSON.stringify({ alg, typ: "JWT" });
      assert.equal(
        await accepted(t, services, await forge(noKid, claims, signerOf(alg, key))),
        false,
        "no kid at all",
      );
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: a correctly signed token whose header differs from citadel's only in whitespace, member order or extra members is refused`, async () => {
    const { t, services, current, claims } = await installation(alg);
    try {
      const { key } = await privateKeyOfRow(services, current);
      const kid = current.kid;
      const exact = JSON.stringify({ alg, typ: "JWT", kid });
      assert.equal(
        await accepted(t, services, await forge(exact, claims, signerOf(alg, key))),
        true,
        "the control: citadel's own header, signed with its key, is accepted",
      );
      const variants = [
        JSON.stringify({ typ: "JWT", alg, kid }),
        JSON.stringify({ kid, alg, typ: "JWT" }),
        JSON.stringify({ alg, typ: "JWT", kid }, null, 1),
        JSON.stringify({ alg, kid }),
        `{"alg": "${alg}", "typ": "JWT", "kid": "${kid}"}`,
        ` ${exact}`,
        `${exact}\n`,
        JSON.stringify({ alg, typ: "JWT", kid, jku: "https://attacker.example/jwks.json" }),
        JSON.stringify({ alg, typ: "JWT", kid, crit: ["exp"] }),
        JSON.stringify({ alg, typ: "jwt", kid }),
        JSON.stringify({ alg: alg.toLowerCase(), typ: "JWT", kid }),
        `{"alg":"${alg}","typ":"JWT","kid":"${kid}","kid":"${kid}"}`,
      ];
      for (const header of variants) {
        const forged = await forge(header, claims, signerOf(alg, key));
        assert.equal(await accepted(t, services, forged), false, header);
      }
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: a token whose header names ${other(alg)} is refused, even for a live ${other(alg)} key left in the table`, async () => {
    const { t, services, current, claims } = await installation(alg);
    try {
      // A key of the other algorithm, live in the table (state previous, unexpired), as
      // after a switch of JWT_ALGORITHM gone wrong: it must not verify in this mode.
      const foreign = await generateKeyPair(other(alg));
      const cipher = await services.fieldCipher();
      const pkcs8 = toBase64Url(foreign.privatePkcs8);
      await t.deps.db.insertInto("signing_keys").values({
        kid: foreign.publicJwk.kid,
        algorithm: other(alg),
        state: "previous",
        public_jwk: JSON.stringify(foreign.publicJwk),
        private_key: await cipher.encrypt(pkcs8, {
          ...PRIVATE_KEY_FIELD,
          rowId: foreign.publicJwk.kid,
        }),
        created_at: t.clock.now(),
        activated_at: t.clock.now(),
        deactivated_at: t.clock.now(),
        expires_at: t.clock.now() + 86_400_000,
        retired_at: null,
      }).execute();
      const foreignKey = await importPrivateKey(other(alg), pkcs8);
      for (const kid of [foreign.publicJwk.kid, current.kid]) {
        const header = JSON.stringify({ alg: other(alg), typ: "JWT", kid });
        const forged = await forge(header, claims, signerOf(other(alg), foreignKey));
        assert.equal(await accepted(t, services, forged), false, `${other(alg)} under ${kid}`);
      }
      // The foreign key's signature under this mode's header does not verify either.
      const mislabelled = JSON.stringify({ alg, typ: "JWT", kid: foreign.publicJwk.kid });
      assert.equal(
        await accepted(
          t,
          services,
          await forge(mislabelled, claims, signerOf(other(alg), foreignKey)),
        ),
        false,
      );
      const jwks = await (await t.app.request("/.well-known/jwks.json")).json();
      assert.deepEqual(
        jwks.keys.map((k: { kid: string }) => k.kid),
        [current.kid],
        "only keys of the configured algorithm are published",
      );
    } finally {
      await t.close();
    }
  });

  Deno.test(`${alg}: a token signed by another installation's key under this installation's kid is refused`, async () => {
    const mine = await installation(alg);
    const theirs = await installation(alg);
    try {
      assert.notEqual(mine.current.kid, theirs.current.kid);
      const { key: theirKey } = await privateKeyOfRow(theirs.services, theirs.current);
      const header = JSON.stringify({ alg, typ: "JWT", kid: mine.current.kid });
      const forged = await forge(header, mine.claims, signerOf(alg, theirKey));
      assert.equal(await accepted(mine.t, mine.services, forged), false);
      // Their genuine tokens are refused here too, and ours there.
      assert.equal(await accepted(mine.t, mine.services, theirs.token), false);
      assert.equal(await accepted(theirs.t, theirs.services, mine.token), false);
    } finally {
      await mine.t.close();
      await theirs.t.close();
    }
  });

  Deno.test(`${alg}: a genuine token with its payload or signature altered is refused`, async () => {
    const { t, services, token, claims } = await installation(alg);
    try {
      const [h, p, s] = token.split(".");
      const elevated = b64(JSON.stringify({ ...claims, role: "super_admin" }));
      const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
      const forgeries = [
        `${h}.${elevated}.${s}`,
        `${h}.${p}.${flipped}`,
        `${h}.${p}.`,
        `${h}.${p}.${s}${s}`,
        `${h}.${p}.${s.slice(0, -4)}`,
        `${h}.${p}.x.${s}`,
        `${h}.${p}`,
      ];
      for (const forged of forgeries) {
        assert.equal(await accepted(t, services, forged), false, forged);
      }
      assert.equal(await accepted(t, services, token), true);
    } finally {
      await t.close();
    }
  });
}

Deno.test("HS256: tokens whose header names EdDSA, ES256 or none under the secret's kid are refused, as is the genuine signature under a reordered header", async () => {
  const t = await buildTestApp();
  const services = createServices(t.deps);
  try {
    const user = await registerUser(t);
    const { access_token: token } = await login(t, user.email);
    const claims = claimsOf(token);
    const kid = await hs256KeyId(TEST_SECRET);
    assert.deepEqual(headerOf(token), { alg: "HS256", typ: "JWT", kid });
    assert.equal(await accepted(t, services, token), true);
    const hmacWithSecret = async (input: Uint8Array<ArrayBuffer>) =>
      await crypto.subtle.sign("HMAC", await importHmacKey(TEST_SECRET), input);
    for (const alg of ["EdDSA", "ES256"] as AsymmetricAlgorithm[]) {
      const pair = await generateKeyPair(alg);
      const key = await importPrivateKey(alg, toBase64Url(pair.privatePkcs8));
      const header = JSON.stringify({ alg, typ: "JWT", kid });
      assert.equal(
        await accepted(t, services, await forge(header, claims, signerOf(alg, key))),
        false,
      );
      assert.equal(await accepted(t, services, await forge(header, claims, hmacWithSecret)), false);
    }
    const none = b64(JSON.stringify({ alg: "none", typ: "JWT", kid }));
    assert.equal(await accepted(t, services, `${none}.${token.split(".")[1]}.`), false);
    for (
      const header of [
        JSON.stringify({ typ: "JWT", alg: "HS256", kid }),
        JSON.stringify({ alg: "HS256", typ: "JWT" }),
        JSON.stringify({ alg: "HS256", typ: "JWT", kid }, null, 2),
      ]
    ) {
      assert.equal(
        await accepted(t, services, await forge(header, claims, hmacWithSecret)),
        false,
        header,
      );
    }
  } finally {
    await t.close();
  }
});
