/**
 * The asymmetric JWS algorithms citadel signs access tokens with (EdDSA over Ed25519, ES256
 * over P-256) in Web Crypto terms: generating a key pair, its public JWK and RFC 7638
 * thumbprint (the `kid`), and importing each half again. No I/O.
 * @module
 */
import { fromBase64Url, toBase64Url } from "./crypto.ts";

/** The asymmetric `alg` values of JWT_ALGORITHM. */
export type AsymmetricAlgorithm = "EdDSA" | "ES256";

/** A public signing key as JWKS publishes it: never a private member. */
export interface PublicJwk {
  kty: "OKP" | "EC";
  crv: "Ed25519" | "P-256";
  x: string;
  y?: string;
  kid: string;
  alg: AsymmetricAlgorithm;
  use: "sig";
}

/** A new key pair: the public JWK (with its kid) and the private key as PKCS #8 bytes. */
export interface GeneratedKeyPair {
  publicJwk: PublicJwk;
  privatePkcs8: Uint8Array<ArrayBuffer>;
}

const KEY_PARAMS = {
  EdDSA: { name: "Ed25519" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
} as const;

/** Web Crypto's sign/verify parameters; ECDSA signatures are raw r||s, JWS's own format. */
export const SIGNATURE_PARAMS = {
  EdDSA: { name: "Ed25519" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
} as const;

const encoder = new TextEncoder();

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of the required public members. */
export async function jwkThumbprint(jwk: Pick<PublicJwk, "kty" | "crv" | "x" | "y">) {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 section 3).
  const members = jwk.kty === "EC"
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify(members)));
  return toBase64Url(new Uint8Array(digest));
}

/** Generates a key pair for `alg`; the kid is the public key's thumbprint. */
export async function generateKeyPair(alg: AsymmetricAlgorithm): Promise<GeneratedKeyPair> {
  const pair = await crypto.subtle.generateKey(KEY_PARAMS[alg], true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const base = {
    kty: exported.kty as PublicJwk["kty"],
    crv: exported.crv as PublicJwk["crv"],
    x: exported.x!,
    ...(exported.y ? { y: exported.y } : {}),
  };
  const publicJwk: PublicJwk = { ...base, kid: await jwkThumbprint(base), alg, use: "sig" };
  const privatePkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { publicJwk, privatePkcs8 };
}

/** Imports a published public JWK for verification only. */
export function importPublicKey(alg: AsymmetricAlgorithm, jwk: PublicJwk): Promise<CryptoKey> {
  const { kty, crv, x, y } = jwk;
  return crypto.subtle.importKey(
    "jwk",
    { kty, crv, x, ...(y ? { y } : {}) },
    KEY_PARAMS[alg],
    false,
    [
      "verify",
    ],
  );
}

/** Imports a private key from its PKCS #8 base64url text for signing only (not extractable). */
export function importPrivateKey(alg: AsymmetricAlgorithm, pkcs8: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", fromBase64Url(pkcs8), KEY_PARAMS[alg], false, ["sign"]);
}

/**
 * The public JWK as published: exactly the public members and the key's metadata, whatever
 * else a stored copy may hold.
 */
export function publicMembers(jwk: PublicJwk): PublicJwk {
  const { kty, crv, x, y, kid, alg, use } = jwk;
  return { kty, crv, x, ...(y === undefined ? {} : { y }), kid, alg, use };
}

/** The public half (kty, crv, x, y) of the key pair a PKCS #8 private key belongs to. */
export async function publicHalfOf(
  alg: AsymmetricAlgorithm,
  pkcs8: string,
): Promise<Pick<PublicJwk, "kty" | "crv" | "x" | "y">> {
  const key = await crypto.subtle.importKey("pkcs8", fromBase64Url(pkcs8), KEY_PARAMS[alg], true, [
    "sign",
  ]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key);
  return {
    kty: kty as PublicJwk["kty"],
    crv: crv as PublicJwk["crv"],
    x: x!,
    ...(y ? { y } : {}),
  };
}
