/**
 * Who sent a request: the client address behind trusted proxies (X-Forwarded-For or
 * Forwarded), whether it came over HTTPS, and the key limits are kept under.
 */
import {
  canonicalIp,
  formatIp,
  formatIpv6,
  type ParsedIp,
  parseIp,
  parseIpv4,
  parseIpv6,
} from "./ip_address.ts";
import { compileTrustedProxies, type TrustedProxies } from "./trusted_proxies.ts";

export {
  compileTrustedProxies,
  type ForwardedHeader,
  type TrustedProxies,
  type TrustedProxiesOptions,
  trustedProxyProblem,
} from "./trusted_proxies.ts";

/** One hop of a forwarding header: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`. */
function parseHop(raw: string): ParsedIp | undefined {
  const hop = raw.trim();
  if (hop.startsWith("[")) {
    const close = hop.indexOf("]");
    const rest = hop.slice(close + 1);
    if (close < 0 || !(rest === "" || /^:\d{1,5}$/.test(rest))) return undefined;
    const words = parseIpv6(hop, 1, close);
    return words && parseIp(formatIpv6(words));
  }
  const colon = hop.indexOf(":");
  if (colon > 0 && colon === hop.lastIndexOf(":") && /^:\d{1,5}$/.test(hop.slice(colon))) {
    const value = parseIpv4(hop, 0, colon);
    return value < 0 ? undefined : { version: 4, value };
  }
  return hop.indexOf("%") < 0 ? parseIp(hop) : undefined;
}

/** No chain longer than this is walked; real deployments have a handful of hops. */
const MAX_HOPS = 32;

/**
 * Reads hops right to left (nearest proxy first), skipping trusted ones. The first
 * untrusted hop is the client. A malformed hop ends the walk at the hop that forwarded
 * it, so garbage never becomes a client address.
 */
function walk(hops: ReadonlyArray<string | undefined>, proxies: TrustedProxies) {
  let index = -1;
  let client: ParsedIp | undefined;
  for (let i = hops.length - 1; i >= 0 && hops.length - i <= MAX_HOPS; i--) {
    const hop = hops[i] === undefined ? undefined : parseHop(hops[i]!);
    if (!hop) break;
    client = hop;
    index = i;
    if (!proxies.matches(hop)) break;
  }
  return { client, index };
}

/** Parses RFC 7239 `Forwarded` into elements; undefined when it is not well formed. */
export function parseForwarded(value: string): Array<Record<string, string>> | undefined {
  const elements: Array<Record<string, string>> = [];
  const pair =
    /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:([!#$%&'*+.^_`|~0-9A-Za-z:[\]-]+)|"((?:[^"\\]|\\.)*)")\s*([;,]|$)/y;
  let element: Record<string, string> = {};
  while (pair.lastIndex < value.length) {
    const match = pair.exec(value);
    if (!match) return undefined;
    element[match[1].toLowerCase()] = match[2] ?? match[3].replace(/\\(.)/g, "$1");
    if (match[4] !== ";") {
      elements.push(element);
      element = {};
      if (match[4] === "") break;
    }
  }
  return elements;
}

/** Who sent a request and whether it arrived over HTTPS. */
export interface ClientInfo {
  /** Canonical address of the client (IPv4-mapped IPv6 becomes IPv4). */
  ip: string;
  /** Over TLS directly, or per a trusted proxy's X-Forwarded-Proto / Forwarded `proto`. */
  secure: boolean;
  /** Whether the socket peer is a trusted proxy. */
  peerTrusted: boolean;
}

/**
 * Whether a request arrived over HTTPS: the connection is TLS, or the client-facing value
 * of X-Forwarded-Proto says so when the peer is a trusted proxy. Never the request URL:
 * an absolute-form target (`GET https://host/ HTTP/1.1`) sets its scheme on plain HTTP.
 */
export function isRequestSecure(
  peerTrusted: boolean,
  headers: Headers,
  connectionSecure: boolean,
): boolean {
  if (connectionSecure) return true;
  if (!peerTrusted) return false;
  const proto = headers.get("x-forwarded-proto");
  if (proto === null) return false;
  const comma = proto.indexOf(",");
  return (comma < 0 ? proto : proto.slice(0, comma)).trim().toLowerCase() === "https";
}

/**
 * Resolves the client: the socket peer, unless the peer is a trusted proxy, in which
 * case the configured forwarding header is read right to left, skipping trusted hops.
 * `connectionSecure` is whether the connection from the peer is TLS, as the listener
 * knows it.
 */
export function resolveClient(
  peer: string,
  headers: Headers,
  connectionSecure: boolean,
  proxies: TrustedProxies,
): ClientInfo {
  const ip = peer.indexOf(":") < 0 ? peer : canonicalIp(peer) ?? peer;
  if (proxies.size === 0 || !proxies.contains(ip)) {
    return { ip, secure: connectionSecure, peerTrusted: false };
  }
  if (proxies.header === "x-forwarded-for") {
    const value = headers.get("x-forwarded-for");
    const { client } = value === null ? { client: undefined } : walk(value.split(","), proxies);
    return {
      ip: client ? formatIp(client) : ip,
      secure: isRequestSecure(true, headers, connectionSecure),
      peerTrusted: true,
    };
  }
  const value = headers.get("forwarded");
  const elements = value === null ? undefined : parseForwarded(value);
  const { client, index } = elements
    ? walk(elements.map((e) => e.for), proxies)
    : { client: undefined, index: -1 };
  const proto = index >= 0 ? elements![index].proto?.toLowerCase() : undefined;
  return {
    ip: client ? formatIp(client) : ip,
    secure: proto === undefined ? connectionSecure : proto === "https",
    peerTrusted: true,
  };
}

/** Options of {@linkcode resolveClientIp}. */
export interface ClientIpOptions {
  /** CIDR ranges of proxies whose forwarding headers are believed. */
  trustedProxies: readonly string[] | TrustedProxies;
}

/** The client's address; see {@linkcode resolveClient}. Compiles string lists on each call. */
export function resolveClientIp(peer: string, headers: Headers, options: ClientIpOptions): string {
  const proxies = "contains" in options.trustedProxies
    ? options.trustedProxies
    : compileTrustedProxies(options.trustedProxies);
  return resolveClient(peer, headers, false, proxies).ip;
}

/**
 * The key that rate limits and blocks are kept under: the address for IPv4, its /64
 * network for IPv6 (one subscriber usually owns a whole /64).
 */
export function clientKey(ip: string): string {
  if (ip.indexOf(":") < 0) return ip;
  const parsed = parseIp(ip);
  if (!parsed) return ip;
  if (parsed.version === 4) return formatIp(parsed);
  return `${
    formatIpv6([parsed.words[0], parsed.words[1], parsed.words[2], parsed.words[3], 0, 0, 0, 0])
  }/64`;
}
