/**
 * Hashing and verifying stored passwords: argon2id through the injected hasher, legacy bcrypt,
 * upgrades, and the dummy verification for unknown accounts.
 */
import bcrypt from "bcryptjs";
import { needsRehash, type PasswordHasher } from "../platform/password_hasher.ts";
import { normalizePassword } from "./password_policy.ts";

/** Outcome of a password verification. */
export interface VerifyResult {
  ok: boolean;
  /** The password is right but its stored hash should be replaced (legacy or weak). */
  needsUpgrade: boolean;
}

/**
 * The stored "hash" of an account a provider created: no password verifies against it (an
 * unrecognised hash is refused after a dummy verification), until a reset sets one.
 */
export const NO_PASSWORD = "!none";

/** True when the account has a password it can sign in with. */
export function hasPassword(stored: string): boolean {
  return stored !== NO_PASSWORD;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const REJECTED: VerifyResult = { ok: false, needsUpgrade: false };

/** True for a legacy bcrypt hash (`$2a$`, `$2b$`, `$2y$`) as imported from older systems. */
export function isBcryptHash(stored: string): boolean {
  return BCRYPT.test(stored);
}

/** Hashes a password for storage: normalised as the policy checked it, never truncated. */
export function hashPassword(password: string, hasher: PasswordHasher): Promise<string> {
  return hasher.hash(normalizePassword(password));
}

async function verifyBcrypt(stored: string, password: string): Promise<boolean> {
  // Legacy systems hashed what the user typed; try the normalised form first because
  // that is what citadel would store, then the raw input when it differs.
  const normalized = normalizePassword(password);
  if (await bcrypt.compare(normalized, stored)) return true;
  return normalized !== password && await bcrypt.compare(password, stored);
}

/**
 * Verifies a password against a stored hash: argon2 PHC strings through the injected
 * hasher, legacy bcrypt through bcryptjs (pure JavaScript, runs on every target).
 * `needsUpgrade` is true after a successful bcrypt check and for argon2 hashes weaker
 * than the hasher's parameters, so the caller can store `hashPassword(password)`.
 * Unrecognised hashes are rejected after a dummy verification, so they take as long.
 */
export async function verifyPassword(
  stored: string,
  password: string,
  hasher: PasswordHasher,
): Promise<VerifyResult> {
  if (stored.startsWith("$argon2")) {
    const ok = await hasher.verify(stored, normalizePassword(password));
    return { ok, needsUpgrade: ok && needsRehash(stored, hasher.params) };
  }
  if (isBcryptHash(stored)) {
    const ok = await verifyBcrypt(stored, password);
    return { ok, needsUpgrade: ok };
  }
  await dummyVerify(password, hasher);
  return REJECTED;
}

const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();

function dummyHashFor(hasher: PasswordHasher): Promise<string> {
  let hash = dummyHashes.get(hasher);
  if (!hash) {
    // A random password nobody knows, hashed once per hasher with its current parameters.
    const secret = crypto.getRandomValues(new Uint8Array(32)).join(",");
    hash = hasher.hash(secret);
    hash.catch(() => dummyHashes.delete(hasher));
    dummyHashes.set(hasher, hash);
  }
  return hash;
}

/**
 * Runs a full verification that always fails, against a dummy hash made with the
 * hasher's current parameters, so a login for an unknown email costs as much time as
 * one with a wrong password. Always resolves to `{ ok: false }`.
 */
export async function dummyVerify(password: string, hasher: PasswordHasher): Promise<VerifyResult> {
  await hasher.verify(await dummyHashFor(hasher), normalizePassword(password));
  return REJECTED;
}

/** Computes the dummy hash now (e.g. at server start) so the first unknown-email login is not slower. */
export async function prepareDummyHash(hasher: PasswordHasher): Promise<void> {
  await dummyHashFor(hasher);
}
