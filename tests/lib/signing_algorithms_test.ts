import assert from "node:assert/strict";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto.ts";
import {
  type AsymmetricAlgorithm,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  jwkThumbprint,
  type PublicJwk,
  SIGNATURE_PARAMS,
} from "../../src/lib/signing_algorithms.ts";

const encoder = new TextEncoder();
const ALGORITHMS: AsymmetricAlgorithm[] = ["EdDSA", "ES256"];
/** Every private or symmetric member a JWK can carry (RFC 7517/7518/8037). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** RFC 8037 appendix A.1: the Ed25519 example key (public part) and A.3: its thumbprint. */
const RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/** RFC 8037 appendix A.4: a JWS over "Example of Ed25519 signing" with that key. */
const RFC8037_JWS = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
  "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

async function sha256Base64Url(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

Deno.test("jwkThumbprint() gives RFC 8037's thumbprint of its Ed25519 example key", async () => {
  assert.equal(
    await jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: RFC8037_X }),
    RFC8037_THUMBPRINT,
  );
});

Deno.test("importPublicKey() verifies RFC 8037's Ed25519 JWS, and refuses it with one bit of the payload changed", async () => {
  const jwk: PublicJwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: RFC8037_X,
    kid: RFC8037_THUMBPRINT,
    alg: "EdDSA",
    use: "sig",
  };
  const key = await importPublicKey("EdDSA", jwk);
  const [header, payload, signature] = RFC8037_JWS.split(".");
  const verify = (input: string) =>
    crypto.subtle.verify(
      SIGNATURE_PARAMS.EdDSA,
      key,
      fromBase64Url(signature),
      encoder.encode(input),
    );
  assert.equal(await verify(`${header}.${payload}`), true);
  const flipped = `${header}.${payload.slice(0, -1)}${payload.at(-1) === "n" ? "m" : "n"}`;
  assert.equal(await verify(flipped), false);
});

for (const alg of ALGORITHMS) {
  Deno.test(`generateKeyPair(${alg}): the public JWK carries only public members, and its kid is the RFC 7638 thumbprint`, async () => {
    const { publicJwk } = await generateKeyPair(alg);
    const expected = alg === "EdDSA" ? { kty: "OKP", crv: "Ed25519" } : { kty: "EC", crv: "P-256" };
    assert.equal(publicJwk.kty, expected.kty);
    assert.equal(publicJwk.crv, expected.crv);
    assert.equal(publicJwk.alg, alg);
    assert.equal(publicJwk.use, "sig");
    const allowed = alg === "EdDSA"
      ? ["alg", "crv", "kid", "kty", "use", "x"]
      : ["alg", "crv", "kid", "kty", "use", "x", "y"];
    assert.deepEqual(Object.keys(publicJwk).sort(), allowed);
    for (const member of PRIVATE_MEMBERS) assert.ok(!(member in publicJwk), member);
    assert.equal(fromBase64Url(publicJwk.x).length, 32);
    if (alg === "ES256") assert.equal(fromBase64Url(publicJwk.y!).length, 32);

    // RFC 7638 section 3: the required members in lexicographic order, no whitespace,
    // written out by hand here rather than through the code under test.
    const canonical = alg === "EdDSA"
      ? `{"crv":"Ed25519","kty":"OKP","x":"${publicJwk.x}"}`
      : `{"crv":"P-256","kty":"EC","x":"${publicJwk.x}","y":"${publicJwk.y}"}`;
    assert.equal(publicJwk.kid, await sha256Base64Url(canonical));
    assert.equal(
      publicJwk.kid,
      await jwkThumbprint(publicJwk),
      "members beyond the required ones are ignored",
    );
  });

  Deno.test(`generateKeyPair(${alg}): a signature by the private key verifies with the imported public JWK, and not with another pair's`, async () => {
    const pair = await generateKeyPair(alg);
    const other = await generateKeyPair(alg);
    assert.notEqual(pair.publicJwk.kid, other.publicJwk.kid);
    const data = encoder.encode("header.payload");
    const privateKey = await importPrivateKey(alg, toBase64Url(pair.privatePkcs8));
    assert.equal(privateKey.extractable, false, "the imported private key cannot be exported");
    const signature = await crypto.subtle.sign(SIGNATURE_PARAMS[alg], privateKey, data);
    assert.equal(signature.byteLength, 64, "EdDSA and ES256 (raw r||s) signatures are 64 bytes");
    const publicKey = await importPublicKey(alg, pair.publicJwk);
    assert.equal(publicKey.type, "public");
    assert.deepEqual(publicKey.usages, ["verify"]);
    assert.equal(
      await crypto.subtle.verify(SIGNATURE_PARAMS[alg], publicKey, signature, data),
      true,
    );
    const otherKey = await importPublicKey(alg, other.publicJwk);
    assert.equal(
      await crypto.subtle.verify(SIGNATURE_PARAMS[alg], otherKey, signature, data),
      false,
    );
    assert.equal(
      await crypto.subtle.verify(SIGNATURE_PARAMS[alg], publicKey, signature, encoder.encode("x")),
      false,
    );
  });

  Deno.test(`importPublicKey(${alg}) ignores private members smuggled into a JWK: the key is public and only verifies`, async () => {
    const { publicJwk } = await generateKeyPair(alg);
    const smuggled = {
      ...publicJwk,
      d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    } as PublicJwk;
    const key = await importPublicKey(alg, smuggled);
    assert.equal(key.type, "public");
    assert.deepEqual(key.usages, ["verify"]);
  });
}

Deno.test("importPublicKey() refuses a JWK of the other curve", async () => {
  const ed = await generateKeyPair("EdDSA");
  const ec = await generateKeyPair("ES256");
  await assert.rejects(importPublicKey("ES256", ed.publicJwk));
  await assert.rejects(importPublicKey("EdDSA", ec.publicJwk));
});
