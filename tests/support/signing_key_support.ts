/**
 * Helpers of the signing-key tests (issue 16): a field-encryption key, the environment of
 * an asymmetric installation, reading a key's private half back out of the database the
 * way an attacker who stole ENCRYPTION_KEY and the file would, and hand-made JWTs.
 */
import { toBase64Url } from "../../src/lib/crypto.ts";
import {
  type AsymmetricAlgorithm,
  importPrivateKey,
  SIGNATURE_PARAMS,
} from "../../src/lib/signing_algorithms.ts";
import type { Db } from "../../src/db/schema.ts";
import type { Services } from "../../src/services/container.ts";
import { PRIVATE_KEY_FIELD } from "../../src/services/signing_keys.ts";

const encoder = new TextEncoder();

/** A fresh ENCRYPTION_KEY value: 32 random bytes, base64. */
export function newEncryptionKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

/** The settings of an asymmetric installation (a new ENCRYPTION_KEY unless given). */
export function asymmetricEnv(
  algorithm: AsymmetricAlgorithm,
  env: Record<string, string> = {},
): Record<string, string> {
  return { JWT_ALGORITHM: algorithm, ENCRYPTION_KEY: newEncryptionKey(), ...env };
}

/** base64url of a text, as JWS encodes headers and payloads. */
export function b64(text: string): string {
  return toBase64Url(encoder.encode(text));
}

/** The decoded header of a JWT. */
export function headerOf(token: string): Record<string, unknown> {
  const part = token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(part));
}

/** The decoded claims of a JWT. */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(part));
}

/** A JWT with exactly this header text and claims, signed by `sign` over `header.payload`. */
export async function forge(
  headerJson: string,
  claims: unknown,
  sign: (input: Uint8Array<ArrayBuffer>) => Promise<ArrayBuffer | Uint8Array>,
): Promise<string> {
  const input = `${b64(headerJson)}.${b64(JSON.stringify(claims))}`;
  return `${input}.${toBase64Url(new Uint8Array(await sign(encoder.encode(input))))}`;
}

/** A signer with a private CryptoKey of `alg`. */
export function signerOf(alg: AsymmetricAlgorithm, key: CryptoKey) {
  return async (input: Uint8Array<ArrayBuffer>) =>
    await crypto.subtle.sign(SIGNATURE_PARAMS[alg], key, input);
}

/** An HS256 signer whose secret is these bytes. */
export function hmacSignerOf(secret: Uint8Array<ArrayBuffer>) {
  return async (input: Uint8Array<ArrayBuffer>) => {
    const key = await crypto.subtle.importKey(
      "raw",
      secret,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return await crypto.subtle.sign("HMAC", key, input);
  };
}

/** A signing-key row's private key, decrypted with the installation's field cipher. */
export async function privateKeyOfRow(
  services: Pick<Services, "fieldCipher">,
  row: { kid: string; private_key: string; algorithm: string },
): Promise<{ pkcs8: string; key: CryptoKey }> {
  const cipher = await services.fieldCipher();
  const pkcs8 = await cipher.decrypt(row.private_key, { ...PRIVATE_KEY_FIELD, rowId: row.kid });
  return {
    pkcs8,
    key: await importPrivateKey(row.algorithm as AsymmetricAlgorithm, pkcs8),
  };
}

/** The signing-key rows, by state. */
export async function keyRows(db: Db) {
  return await db.selectFrom("signing_keys").selectAll().orderBy("created_at").execute();
}

/** The one row in `state`, or undefined. */
export async function rowInState(db: Db, state: "next" | "current" | "previous" | "retired") {
  return await db.selectFrom("signing_keys").selectAll().where("state", "=", state)
    .executeTakeFirst();
}

/** The audit events recorded on signing keys, oldest first, details parsed. */
export async function keyAuditEvents(db: Db) {
  const rows = await db.selectFrom("audit_events")
    .select(["action", "target_id", "actor_type", "actor_id", "outcome", "details"])
    .where("target_type", "=", "signing_key").orderBy("seq").execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}
