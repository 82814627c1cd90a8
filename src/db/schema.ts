/**
 * The database schema as Kysely types: one interface per table, the `Database` they form, and
 * the row types (`User`, `Session`, ...) the code passes around.
 */
import type { ColumnType, Generated, Kysely, Selectable } from "kysely";

/** Times are stored as epoch milliseconds (UTC) in integer columns. */
export type EpochMs = number;
export type Role = "user" | "admin" | "super_admin";
export type UserStatus = "active" | "disabled";

export interface UsersTable {
  id: string;
  email: string;
  username: string | null;
  password_hash: string;
  name: string | null;
  role: Role;
  status: UserStatus;
  created_at: EpochMs;
  updated_at: EpochMs;
  last_login_at: EpochMs | null;
  /** When the second factor was turned on; null when it is off (and when not inserted). */
  mfa_enabled_at: ColumnType<EpochMs | null, EpochMs | null | undefined, EpochMs | null>;
  recovery_codes_left: Generated<number>;
  /** When the address was proven (a verification link); null while unverified. */
  email_verified_at: ColumnType<EpochMs | null, EpochMs | null | undefined, EpochMs | null>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: EpochMs;
  last_used_at: EpochMs;
  expires_at: EpochMs;
  revoked_at: EpochMs | null;
  revoke_reason: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON array of RFC 8176 methods, e.g. ["pwd","otp"]; null for sessions before 0008. */
  amr: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the user last proved who they are in this session (login or reauthentication). */
  auth_time: ColumnType<EpochMs | null, EpochMs | null | undefined, EpochMs | null>;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  issued_at: EpochMs;
  rotated_at: EpochMs | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  /** JSON array of scope names. */
  scopes: string;
  rate_limit_per_minute: number | null;
  created_at: EpochMs;
  expires_at: EpochMs;
  last_used_at: EpochMs | null;
  last_used_ip: string | null;
  revoked_at: EpochMs | null;
}

/** Keyed hashes of API-key secrets; retired ones work until `retired_at` (rotation overlap). */
export interface ApiKeySecretsTable {
  key_hash: string;
  api_key_id: string;
  created_at: EpochMs;
  retired_at: EpochMs | null;
}

/** Successful logins per (email, client IP key); see migrations/0006_login_history.ts. */
export interface LoginHistoryTable {
  email: string;
  ip_key: string;
  last_success_at: EpochMs;
}

export interface MigrationsTable {
  name: string;
  checksum: string;
  applied_at: EpochMs;
}

export type AuditActorType = "user" | "api_key" | "system" | "anonymous";
export type AuditOutcome = "success" | "failure" | "denied";

/** One link of the audit hash chain; rows are never updated or deleted (triggers). */
export interface AuditEventsTable {
  seq: number;
  id: string;
  occurred_at: EpochMs;
  actor_type: AuditActorType;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** Canonical JSON of the allow-listed, redacted details. */
  details: string;
  prev_hash: string;
  hash: string;
}

/** A signed record of audit rows removed by retention pruning. */
export interface AuditCheckpointsTable {
  id: string;
  created_at: EpochMs;
  pruned_before: EpochMs;
  first_seq: number;
  last_seq: number;
  last_hash: string;
  removed_count: number;
  signature: string;
}

/** Exists only inside a prune transaction; the DELETE trigger looks for it. */
export interface AuditPruneAuthorizationsTable {
  up_to_seq: number;
}

/** Networks (IPv4 /24, IPv6 /48) an account has logged in from. */
export interface LoginNetworksTable {
  user_id: string;
  network: string;
  first_seen_at: EpochMs;
  last_seen_at: EpochMs;
}

/** A fixed-window counter of RATE_LIMIT_STORE=database. */
export interface CountersTable {
  key: string;
  count: number;
  reset_at: EpochMs;
}

/** A client or key blocked until a time (path guard, login guard). */
export interface BlocksTable {
  key: string;
  until: EpochMs;
}

/** The life-cycle state of a signing key; see services/signing_keys.ts. */
export type SigningKeyState = "next" | "current" | "previous" | "retired";

/** An asymmetric access-token signing key; `private_key` is a field-encryption envelope. */
export interface SigningKeysTable {
  kid: string;
  algorithm: "EdDSA" | "ES256";
  state: SigningKeyState;
  public_jwk: string;
  private_key: string;
  created_at: EpochMs;
  activated_at: EpochMs | null;
  deactivated_at: EpochMs | null;
  /** When a previous key stops verifying: every token it signed has expired. */
  expires_at: EpochMs | null;
  retired_at: EpochMs | null;
}

/** When an HS256 secret (by its key id) first signed; see migration 0007. */
export interface Hs256SecretsTable {
  kid: string;
  first_signed_at: EpochMs;
}

/** A TOTP enrolment: pending until `confirmed_at`; `secret` is a field-encryption envelope. */
export interface MfaTotpTable {
  user_id: string;
  secret: string;
  created_at: EpochMs;
  confirmed_at: EpochMs | null;
}

/** The last TOTP time step accepted for one purpose of one user (replay protection). */
export interface MfaTotpStepsTable {
  user_id: string;
  purpose: string;
  last_step: number;
}

/** A recovery code, stored only as its keyed hash. */
export interface MfaRecoveryCodesTable {
  code_hash: string;
  user_id: string;
  created_at: EpochMs;
  used_at: EpochMs | null;
}

/** The second step of a login with MFA on, by the keyed hash of its `mfa_token`. */
export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  created_at: EpochMs;
  expires_at: EpochMs;
  attempts: number;
  used_at: EpochMs | null;
  /** The `amr` of the first factor when it was not a password (`fed`); migration 0012. */
  first_factor: string | null;
}

/** A second-factor verification in flight or failed; see migration 0008. */
export interface MfaAttemptsTable {
  id: string;
  user_id: string;
  at: EpochMs;
}

/** A message waiting to be sent, sent, or given up on; see migration 0009. */
export interface EmailOutboxTable {
  id: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  /** What the message is about, e.g. `verify_email`; for logs and the audit. */
  kind: string;
  created_at: EpochMs;
  attempts: Generated<number>;
  next_attempt_at: EpochMs;
  lease_until: EpochMs | null;
  sent_at: EpochMs | null;
  failed_at: EpochMs | null;
  last_error: string | null;
  message_id: string | null;
}

/** A web-console sign-in: its `sessions` row, cookie token hash and timeouts (migration 0010). */
export interface ConsoleSessionsTable {
  token_hash: string;
  session_id: string;
  created_at: EpochMs;
  last_seen_at: EpochMs;
  expires_at: EpochMs;
  /** The idle limit when it opened; `resolve` applies the user's current role's limit. */
  idle_ms: number;
}

/** A single-use email token (verification, reset, email change, unlock), by keyed hash. */
export interface EmailTokensTable {
  token_hash: string;
  user_id: string;
  purpose: string;
  new_email: string | null;
  created_at: EpochMs;
  expires_at: EpochMs;
  used_at: EpochMs | null;
}

/** A user's passkey (WebAuthn credential); see migration 0011. */
export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url of the credential id; unique across users. */
  credential_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  /** The signature counter last seen; 0 for authenticators that do not count. */
  counter: number;
  /** JSON array of the transports the authenticator reported. */
  transports: string;
  /** `singleDevice` or `multiDevice` (a synced passkey). */
  device_type: string;
  backed_up: number;
  aaguid: string;
  name: string;
  created_at: EpochMs;
  last_used_at: EpochMs | null;
  /** When a counter regression (a cloned authenticator) suspended it; it signs in no more. */
  suspended_at: EpochMs | null;
}

/** A WebAuthn ceremony's challenge, by keyed hash; single-use (migration 0011). */
export interface PasskeyChallengesTable {
  challenge_hash: string;
  /** `register`, `login`, `mfa` or `reauthenticate`. */
  purpose: string;
  /** The user the ceremony is for; null for a discoverable sign-in. */
  user_id: string | null;
  /** The session id or `mfa_token` hash that asked; null for a sign-in. */
  bound_to: string | null;
  created_at: EpochMs;
  expires_at: EpochMs;
}

/** A provider identity linked to a user (migration 0012); provider + subject is unique. */
export interface OAuthIdentitiesTable {
  id: string;
  user_id: string;
  /** The provider's configured name, e.g. `google`. */
  provider: string;
  /** The provider's stable user id (`sub`, or GitHub's numeric id). */
  subject: string;
  /** The email the provider asserted when it was last used. */
  email: string | null;
  email_verified: number;
  /** Encrypted JSON of the provider's tokens, only with OAUTH_STORE_TOKENS=true. */
  tokens: string | null;
  created_at: EpochMs;
  last_used_at: EpochMs | null;
}

/** A sign-in with a provider in progress, by the keyed hash of its `state` (10 minutes). */
export interface OAuthFlowsTable {
  state_hash: string;
  /** Keyed hash of the flow cookie of the browser that started it. */
  browser_hash: string;
  provider: string;
  /** The PKCE verifier, sent to the provider's token endpoint with the code. */
  code_verifier: string;
  nonce: string;
  /** One of OAUTH_REDIRECT_URLS, where the callback sends the browser back. */
  redirect_to: string;
  /** The app's own PKCE challenge (S256), passed on to its code (migration 0013). */
  app_challenge: string | null;
  /** The `max_age` asked of the provider (0 for a step-up), checked against `auth_time`. */
  max_age: number | null;
  created_at: EpochMs;
  expires_at: EpochMs;
}

/** A one-time code handed to the app after a callback, by keyed hash (migration 0012). */
export interface OAuthCodesTable {
  code_hash: string;
  /** `login` (60 s) or `link` (the proof a signed-in user links with, 10 minutes). */
  kind: string;
  provider: string;
  subject: string;
  email: string | null;
  email_verified: number;
  /** The name the provider gave, for an account it creates. */
  name: string | null;
  /** The linked user of a login; the account a link is offered to. */
  user_id: string | null;
  /** Encrypted provider tokens, kept only with OAUTH_STORE_TOKENS=true. */
  tokens: string | null;
  /**
   * The keyed hash of the flow cookie of the browser the flow ran in (migration 0013; null
   * for a code issued before it): an exchange presenting another browser's cookie is refused.
   */
  browser_hash: string | null;
  /** The app's PKCE challenge (S256): the exchange needs its verifier (migration 0013). */
  app_challenge: string | null;
  created_at: EpochMs;
  expires_at: EpochMs;
}

/** The whole schema as Kysely sees it. */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  api_key_secrets: ApiKeySecretsTable;
  login_history: LoginHistoryTable;
  citadel_migrations: MigrationsTable;
  counters: CountersTable;
  blocks: BlocksTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_prune_authorizations: AuditPruneAuthorizationsTable;
  login_networks: LoginNetworksTable;
  signing_keys: SigningKeysTable;
  hs256_secrets: Hs256SecretsTable;
  mfa_totp: MfaTotpTable;
  mfa_totp_steps: MfaTotpStepsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  mfa_attempts: MfaAttemptsTable;
  email_outbox: EmailOutboxTable;
  email_tokens: EmailTokensTable;
  console_sessions: ConsoleSessionsTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
  oauth_identities: OAuthIdentitiesTable;
  oauth_flows: OAuthFlowsTable;
  oauth_codes: OAuthCodesTable;
}

export type Db = Kysely<Database>;
export type User = Selectable<UsersTable>;
export type Session = Selectable<SessionsTable>;
