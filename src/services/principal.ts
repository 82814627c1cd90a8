/**
 * Who a request acts as once a credential is verified: a user's session or an API key,
 * with its role and, for keys, its scopes and limits. The credential services produce
 * it and the authorisation rules read it; the app's request variables carry it.
 * @module
 */

/** Who made the request, once authenticated. */
export interface Principal {
  kind: "user" | "api_key";
  userId: string;
  role: string;
  sessionId?: string;
  apiKeyId?: string;
  scopes?: ReadonlySet<string>;
  /** Per-key rate limit (API keys only). */
  rateLimitPerMinute?: number;
  /** When the key expires, epoch ms (API keys only). */
  expiresAt?: number;
}
