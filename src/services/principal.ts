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
  /**
   * Whether a second factor stands behind the credential: for a session, its `amr` names
   * one; for an API key, its owner has MFA on.
   */
  secondFactor?: boolean;
  /** Sessions only: the last proof of identity is within STEP_UP_MAX_AGE. */
  freshAuth?: boolean;
  /** REQUIRE_MFA_FOR_ADMINS is on and this admin has no second factor. */
  adminMfaMissing?: boolean;
}
