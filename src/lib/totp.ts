/**
 * TOTP (RFC 6238) with the defaults every authenticator app understands (HMAC-SHA-1, 6
 * digits, 30 s steps), base32 seeds (RFC 4648, unpadded) and the `otpauth://` URI of an
 * enrolment QR code. Web Crypto only, no I/O.
 * @module
 */
import { constantTimeEqual } from "./crypto.ts";

/** Seconds per time step. */
export const TOTP_PERIOD_SECONDS = 30;
/** Digits of a code. */
export const TOTP_DIGITS = 6;
/** Seed length in bytes: 160 bits, RFC 4226's recommendation for HMAC-SHA-1. */
const SEED_BYTES = 20;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Unpadded RFC 4648 base32 of `bytes`. */
export function toBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The bytes of unpadded, upper-case base32; throws on anything else. */
export function fromBase32(text: string): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error("Invalid base32");
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** A new random seed, as the base32 text users type or scan. */
export function generateTotpSecret(): string {
  return toBase32(crypto.getRandomValues(new Uint8Array(SEED_BYTES)));
}

/** The time step of a moment. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** Imports a base32 seed once for {@linkcode totpCode}. */
export function importTotpSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    fromBase32(secret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    [
      "sign",
    ],
  );
}

/** The code of one time step (RFC 4226 dynamic truncation). */
export async function totpCode(key: CryptoKey, step: number): Promise<string> {
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigUint64(0, BigInt(step));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, counter));
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) |
    (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, "0");
}

/**
 * The step `code` belongs to, within `skewSteps` steps of now either way, or undefined. Every
 * candidate is computed and compared in constant time, so timing tells nothing of which.
 */
export async function matchingStep(
  secret: string,
  code: string,
  nowMs: number,
  skewSteps = 1,
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const key = await importTotpSecret(secret);
  const now = totpStep(nowMs);
  let matched: number | undefined;
  for (let step = now - skewSteps; step <= now + skewSteps; step++) {
    if (constantTimeEqual(await totpCode(key, step), code) && matched === undefined) {
      matched = step;
    }
  }
  return matched;
}

/**
 * The `otpauth://totp/...` URI an authenticator app scans. Every part is percent-encoded as
 * RFC 3986 (the Key URI Format asks for it): form encoding's `+` for a space would reach
 * apps that decode per RFC 3986 as a literal `+` in the issuer.
 */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = Object.entries({
    secret,
    issuer,
    algorithm: "SHA1",
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  }).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&");
  return `otpauth://totp/${label}?${params}`;
}
