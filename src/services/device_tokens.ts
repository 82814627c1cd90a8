/**
 * Device credentials for the login guard (OWASP "device cookies"): after a successful
 * login the client gets a signed token naming the account and a random device id; a
 * later login of that account presenting it is judged only against that device's own
 * failure budget, so attackers spending the account's budget elsewhere cannot lock the
 * owner out. Stateless: the signature (keyed by the pepper) is the only proof.
 */
import type { Clock } from "../platform/clock.ts";
import { constantTimeEqual, hmac, randomToken, toBase64Url } from "../lib/crypto.ts";
import type { Pepper } from "./pepper.ts";

/** Name of the device-credential cookie set by every successful login (API and console). */
export const DEVICE_COOKIE = "__Host-citadel_device";

/** How long a device credential is honoured after the login that issued it. */
export const DEVICE_TOKEN_TTL_DAYS = 90;
const TTL_MS = DEVICE_TOKEN_TTL_DAYS * 86_400_000;

/** `<device id: 22 base64url>.<expiry: base36 ms>.<signature: 43 base64url>`. */
const FORMAT = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/** Options of {@linkcode createDeviceTokens}. */
export interface DeviceTokenOptions {
  /** The pepper of stored secrets; the signature is an HMAC under its key (or a legacy one). */
  pepper: Pepper;
  clock: Clock;
}

/** Issues and checks device credentials; see the module comment. */
export interface DeviceTokens {
  /** A new credential for `userId`, valid for {@linkcode DEVICE_TOKEN_TTL_DAYS}. */
  issue(userId: string): Promise<string>;
  /** The device id when `token` is a valid, unexpired credential of `userId`. */
  verify(token: string, userId: string): Promise<string | undefined>;
}

/** Builds the device-credential signer; one per app. */
export function createDeviceTokens(options: DeviceTokenOptions): DeviceTokens {
  const { pepper, clock } = options;
  const sign = async (key: CryptoKey, userId: string, deviceId: string, expires: string) =>
    toBase64Url(await hmac(key, `device:v1:${userId}:${deviceId}:${expires}`));

  return {
    async issue(userId) {
      const deviceId = randomToken(16);
      const expires = (clock.now() + TTL_MS).toString(36);
      return `${deviceId}.${expires}.${await sign(await pepper.key, userId, deviceId, expires)}`;
    },
    async verify(token, userId) {
      const match = FORMAT.exec(token);
      if (!match) return undefined;
      const [, deviceId, expires, signature] = match;
      if (parseInt(expires, 36) <= clock.now()) return undefined;
      // Our own encoding is canonical, so comparing the text compares the bytes exactly.
      for (const key of [await pepper.key, ...await pepper.legacy]) {
        const expected = await sign(key, userId, deviceId, expires);
        if (constantTimeEqual(expected, signature)) return deviceId;
      }
      return undefined;
    },
  };
}
