/**
 * Small Web Crypto helpers: base64url, random tokens, hex, HMAC-SHA256 keys and hashes,
 * constant-time comparison and SHA-256.
 * @module
 */

const encoder = new TextEncoder();

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The unused low bits of the last character, by `length % 4` (2 chars: 4 bits, 3: 2). */
const UNUSED_BITS = [0, 0, 0b1111, 0b11];

/**
 * Decodes canonical base64url without padding, the only form {@linkcode toBase64Url}
 * writes; throws on anything else. Canonical only, because a lenient decoder maps
 * several texts to the same bytes: a signature or cursor whose last character differs
 * only in unused bits would still be accepted, so tokens would be malleable.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const rest = text.length % 4;
  if (!BASE64URL.test(text) || rest === 1) throw new Error("Invalid base64url");
  if (rest > 1 && (BASE64URL_ALPHABET.indexOf(text[text.length - 1]) & UNUSED_BITS[rest])) {
    throw new Error("Invalid base64url: non-canonical last character");
  }
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** `n` cryptographically random bytes as base64url (a secret, never an id). */
export function randomToken(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (let i = 0; i < view.length; i++) out += view[i].toString(16).padStart(2, "0");
  return out;
}

/** Imports an HMAC-SHA256 key once; callers keep the CryptoKey, never re-import per request. */
export function importHmacKey(secret: string | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

export async function hmac(key: CryptoKey, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
}

/** Compares two strings in time that depends only on their length (signatures, MACs). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function sha256Hex(data: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(data)));
}
