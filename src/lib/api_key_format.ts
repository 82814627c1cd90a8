/**
 * The API key format: `ctd_` + 32 random bytes in base62 + a CRC-32 checksum, generated and
 * checked offline, and the prefix listings show.
 * @module
 */

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Every API key starts with this, so secret scanners can find them. */
export const API_KEY_PREFIX = "ctd_";
const BODY_LENGTH = 43; // 32 random bytes in base62 need at most 43 digits
const CHECKSUM_LENGTH = 6; // a CRC32 in base62 needs at most 6 digits
/** The pattern a secret scanner can use: `ctd_` + 43 base62 + 6 base62 checksum. */
export const API_KEY_PATTERN = /^ctd_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/;

function toBase62(value: bigint, width: number): string {
  let out = "";
  while (value > 0n) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(width, "0");
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of a string's UTF-8 bytes. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(body: string): string {
  return toBase62(BigInt(crc32(`${API_KEY_PREFIX}${body}`)), CHECKSUM_LENGTH);
}

/** A new API key: `ctd_` + 32 random bytes in base62 + a CRC32 checksum in base62. */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const body = toBase62(value, BODY_LENGTH);
  return `${API_KEY_PREFIX}${body}${checksumOf(body)}`;
}

/**
 * True when a string has the key format and a correct checksum; a typo fails here,
 * offline, before any database lookup.
 */
export function isWellFormedApiKey(key: string): boolean {
  if (!API_KEY_PATTERN.test(key)) return false;
  const body = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + BODY_LENGTH);
  return key.endsWith(checksumOf(body));
}

/** The non-secret part shown in listings to tell keys apart. */
export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 8);
}
