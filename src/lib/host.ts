/**
 * Host names: the host of a `Host` header or URL authority, and an `ALLOWED_HOSTS` entry in
 * the one form the host guard compares (lower case, no port, no trailing dot, a leading dot
 * for "and every subdomain"). Pure text; config validates ALLOWED_HOSTS with it, the host
 * guard reads requests with it.
 */

// A DNS name (underscores tolerated), an IPv4 address or a bracketed IPv6 literal,
// optionally followed by a port. Anything else (commas from merged headers, userinfo,
// spaces, paths) is not a host.
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?)(?::(\d{1,5}))?$/i;

/**
 * The host name of a Host header or URL authority, lower case, without port or
 * trailing dot; undefined when it is not a well-formed host.
 */
export function parseHost(value: string): string | undefined {
  if (value.length === 0 || value.length > 260) return undefined;
  const match = HOST.exec(value);
  if (!match) return undefined;
  if (match[2] !== undefined && Number(match[2]) > 65535) return undefined;
  const name = match[1].toLowerCase();
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/**
 * An allowlist entry as the host guard compares it: `API.Example.com:443` becomes
 * `api.example.com`, `.Example.org.` becomes `.example.org` (the apex and every
 * subdomain); undefined when the entry, without its leading dot, is not a host.
 */
export function allowedHostEntry(entry: string): string | undefined {
  const wildcard = entry.startsWith(".");
  const host = parseHost(wildcard ? entry.slice(1) : entry);
  if (host === undefined) return undefined;
  return wildcard ? `.${host}` : host;
}

/** True when `rpId` is the host of `origin` or a parent domain of it (WebAuthn's rule for an RP ID). */
export function rpIdCovers(rpId: string, origin: string): boolean {
  const host = new URL(origin).hostname;
  return host === rpId || host.endsWith(`.${rpId}`);
}
