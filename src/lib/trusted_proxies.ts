/**
 * TRUSTED_PROXIES compiled once into numeric ranges, and the check whether a peer address is
 * one of them.
 */
import { formatIp, type ParsedIp, parseIp, parseIpv4, parseIpv6 } from "./ip_address.ts";

/** Which forwarding header the trusted proxies maintain. */
export type ForwardedHeader = "x-forwarded-for" | "forwarded";

/** Options of {@linkcode compileTrustedProxies}. */
export interface TrustedProxiesOptions {
  /**
   * The header the proxies append to: `x-forwarded-for` (with `x-forwarded-proto`) or
   * RFC 7239 `forwarded`. Only one is read, since a client can send the other one forged.
   */
  header?: ForwardedHeader;
}

/** TRUSTED_PROXIES compiled once into numeric ranges. */
export interface TrustedProxies {
  /** How many ranges; 0 means forwarding headers are never read. */
  readonly size: number;
  readonly header: ForwardedHeader;
  /** Whether an address (any text form) lies in a trusted range. */
  contains(ip: string): boolean;
  /** Whether a parsed address lies in a trusted range. */
  matches(ip: ParsedIp): boolean;
}

const KEYWORDS: Record<string, string[]> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  private: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

type Range = { version: 4; base: number; mask: number } | {
  version: 6;
  words: Uint16Array;
  bits: number;
};

function parseRange(entry: string): Range | undefined {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefix = slash < 0 ? "" : entry.slice(slash + 1);
  if (slash >= 0 && !/^(0|[1-9]\d{0,2})$/.test(prefix)) return undefined;
  if (address.indexOf(":") < 0) {
    const value = parseIpv4(address);
    const bits = prefix === "" ? 32 : Number(prefix);
    if (value < 0 || bits > 32) return undefined;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { version: 4, base: (value & mask) >>> 0, mask };
  }
  const words = parseIpv6(address);
  const bits = prefix === "" ? 128 : Number(prefix);
  if (!words || bits > 128) return undefined;
  const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  if (mapped && bits >= 96) return parseRange(`${formatIp(parseIp(address)!)}/${bits - 96}`);
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    words[i] &= keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
  }
  return { version: 6, words, bits };
}

function expand(list: readonly string[]): string[] {
  return list.flatMap((entry) => KEYWORDS[entry.trim().toLowerCase()] ?? [entry.trim()]);
}

/** Why a TRUSTED_PROXIES entry is unusable, or undefined when it is fine. */
export function trustedProxyProblem(entry: string): string | undefined {
  return expand([entry]).every((e) => parseRange(e) !== undefined)
    ? undefined
    : `"${entry}" is not an IP address, a CIDR range, loopback or private`;
}

/**
 * Compiles TRUSTED_PROXIES (addresses, IPv4/IPv6 CIDR ranges, `loopback`, `private`)
 * once, so the per-request check is a few integer comparisons. Throws on a bad entry.
 */
export function compileTrustedProxies(
  list: readonly string[],
  options: TrustedProxiesOptions = {},
): TrustedProxies {
  const bases: number[] = [];
  const masks: number[] = [];
  const ranges6: Array<{ words: Uint16Array; bits: number }> = [];
  for (const entry of expand(list)) {
    const range = parseRange(entry);
    if (!range) throw new TypeError(trustedProxyProblem(entry));
    if (range.version === 4) {
      bases.push(range.base);
      masks.push(range.mask);
    } else ranges6.push(range);
  }
  const matches4 = (value: number) => {
    for (let i = 0; i < bases.length; i++) if (((value & masks[i]) >>> 0) === bases[i]) return true;
    return false;
  };
  const matches = (ip: ParsedIp) => {
    if (ip.version === 4) return matches4(ip.value);
    return ranges6.some(({ words, bits }) => {
      for (let i = 0; i < 8 && i * 16 < bits; i++) {
        const keep = Math.min(16, bits - i * 16);
        const mask = (0xffff << (16 - keep)) & 0xffff;
        if ((ip.words[i] & mask) !== words[i]) return false;
      }
      return true;
    });
  };
  return {
    size: bases.length + ranges6.length,
    header: options.header ?? "x-forwarded-for",
    matches,
    contains(ip) {
      if (ip.indexOf(":") < 0) {
        const value = parseIpv4(ip);
        return value >= 0 && matches4(value);
      }
      const parsed = parseIp(ip);
      return parsed !== undefined && matches(parsed);
    },
  };
}
