/**
 * The pepper of stored token hashes (refresh tokens, API keys, device credentials): the key
 * new hashes are made with, and the legacy keys hashes made before the pepper stood on its
 * own still verify with (verify with both, re-hash on use).
 */
import { hmac, importHmacKey } from "../lib/crypto.ts";

/** The current pepper key and the legacy ones, current first. */
export interface Pepper {
  /** Every new hash, and every re-hash, is made with this key. */
  key: Promise<CryptoKey>;
  /** Keys of hashes made by earlier releases, tried only when the current key finds nothing. */
  legacy: Promise<CryptoKey[]>;
}

/** What the pepper is built from; `Config` fits after the data-directory secrets resolved. */
export interface PepperSecrets {
  /** HASH_PEPPER, or the generated `DATA_DIR/hash_pepper`; unset only on a development edge. */
  hashPepper?: string;
  jwtSecret: string;
  previousJwtSecret?: string;
}

/** The pepper releases before 0.2 derived from the JWT secret when HASH_PEPPER was unset. */
export async function derivedPepperKey(jwtSecret: string): Promise<CryptoKey> {
  const base = await importHmacKey(jwtSecret);
  return await importHmacKey(new Uint8Array(await hmac(base, "citadel/hash-pepper/v1")));
}

/**
 * Builds the pepper. With a pepper of its own (HASH_PEPPER or the generated file), hashes
 * made under the old derived pepper (of JWT_SECRET_KEY or JWT_SECRET_KEY_PREVIOUS) still
 * verify and are re-hashed on use, so upgrading loses no refresh token or API key. Without
 * one (a development edge deployment with no disk) the derived pepper is current.
 */
export function createPepper(secrets: PepperSecrets): Pepper {
  const derived = [secrets.jwtSecret, secrets.previousJwtSecret]
    .filter((s): s is string => s !== undefined)
    .map((s) => derivedPepperKey(s));
  const key = secrets.hashPepper ? importHmacKey(secrets.hashPepper) : derived.shift()!;
  return { key, legacy: Promise.all(derived) };
}
