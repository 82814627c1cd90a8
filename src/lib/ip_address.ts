/**
 * Parsing and canonical formatting of IPv4 and IPv6 addresses, without allocating on the hot
 * path.
 * @module
 */

/** A parsed address: IPv4 as one unsigned 32-bit number, IPv6 as eight 16-bit words. */
export type ParsedIp =
  | { readonly version: 4; readonly value: number }
  | { readonly version: 6; readonly words: Uint16Array };

const COLON = 58;
const DOT = 46;

function hexValue(ch: number): number {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 87;
  if (ch >= 65 && ch <= 70) return ch - 55;
  return -1;
}

/**
 * Parses a strict dotted-quad IPv4 address in `text[start, end)` without allocating.
 * Leading zeros are refused, since some parsers read them as octal. Returns -1 when invalid.
 */
export function parseIpv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch === DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + ch - 48;
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses an IPv6 address (with `::` and an optional IPv4 tail) in `text[start, end)`. */
export function parseIpv6(text: string, start = 0, end = text.length): Uint16Array | undefined {
  if (end - start < 2) return undefined;
  const words = new Uint16Array(8);
  let count = 0;
  let gap = -1;
  let i = start;
  if (text.charCodeAt(i) === COLON) {
    if (text.charCodeAt(i + 1) !== COLON) return undefined;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return undefined;
    let j = i;
    let group = 0;
    for (; j < end && j - i <= 4; j++) {
      const digit = hexValue(text.charCodeAt(j));
      if (digit < 0) break;
      group = group * 16 + digit;
    }
    if (j - i > 4) return undefined;
    if (j < end && text.charCodeAt(j) === DOT) {
      const v4 = count <= 6 ? parseIpv4(text, i, end) : -1;
      if (v4 < 0) return undefined;
      words[count++] = Math.floor(v4 / 65536);
      words[count++] = v4 % 65536;
      break;
    }
    if (j === i) return undefined;
    words[count++] = group;
    if (j === end) break;
    if (text.charCodeAt(j) !== COLON) return undefined;
    if (text.charCodeAt(j + 1) === COLON && j + 1 < end) {
      if (gap >= 0) return undefined;
      gap = count;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return undefined;
    }
  }
  if (gap < 0) return count === 8 ? words : undefined;
  if (count === 8) return undefined;
  const tail = count - gap;
  for (let k = 0; k < tail; k++) words[7 - k] = words[count - 1 - k];
  for (let k = gap; k < 8 - tail; k++) words[k] = 0;
  return words;
}

function isV4Mapped(words: Uint16Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 &&
    words[4] === 0 && words[5] === 0xffff;
}

/**
 * Parses an IPv4 or IPv6 address. A zone (`%eth0`) is dropped and an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`) becomes the IPv4 address it carries.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.indexOf(":") < 0) {
    const value = parseIpv4(text);
    return value < 0 ? undefined : { version: 4, value };
  }
  const zone = text.indexOf("%");
  const words = parseIpv6(text, 0, zone < 0 ? text.length : zone);
  if (!words) return undefined;
  if (isV4Mapped(words)) return { version: 4, value: words[6] * 65536 + words[7] };
  return { version: 6, words };
}

/** Formats an IPv4 number as a dotted quad. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Formats IPv6 words in the RFC 5952 canonical text form (lower case, longest `::`). */
export function formatIpv6(words: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLength - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += words[i].toString(16);
  }
  return out;
}

/** Formats a parsed address canonically. */
export function formatIp(ip: ParsedIp): string {
  return ip.version === 4 ? formatIpv4(ip.value) : formatIpv6(ip.words);
}

/** The canonical text of an address, or undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  // A strictly valid dotted quad is already canonical: skip building a new string.
  if (text.indexOf(":") < 0) return parseIpv4(text) < 0 ? undefined : text;
  const ip = parseIp(text);
  return ip && formatIp(ip);
}
