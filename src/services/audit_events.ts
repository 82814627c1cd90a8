/**
 * The audit vocabulary: every action and the only detail fields it may carry, the actor of an
 * event, and the `server.started` summary.
 */
import type { AuditActorType, AuditOutcome } from "../db/schema.ts";

export type { AuditActorType, AuditOutcome };

/**
 * Every audit action and the only `details` fields it may carry. Fields not listed
 * are dropped before the event is written, so a careless caller cannot put a
 * password, token or request body into the audit log.
 */
export const AUDIT_ACTIONS = {
  "user.registered": ["method", "role"],
  "auth.login.succeeded": ["method", "session_id", "network", "new_network"],
  "auth.login.failed": ["reason", "method"],
  "auth.login.blocked": ["reason", "scope", "retry_after_seconds"],
  "auth.logout": ["session_id", "all_sessions"],
  "auth.refresh.reused": ["session_id", "sessions_revoked"],
  "user.password_changed": ["by_admin", "sessions_revoked", "api_keys_revoked"],
  "user.updated": ["fields", "role", "status"],
  "user.disabled": ["reason", "sessions_revoked"],
  "user.enabled": ["reason"],
  "user.deleted": ["reason"],
  "session.revoked": ["session_id", "reason"],
  "api_key.created": ["name", "scopes", "expires_at", "prefix"],
  "api_key.rotated": ["name", "expires_at", "previous_key_id", "overlap_until", "prefix"],
  "api_key.revoked": ["name", "reason"],
  "api_key.updated": ["rate_limit_per_minute"],
  "mfa.enrolled": ["method"],
  "mfa.disabled": ["method", "sessions_revoked"],
  "mfa.challenge_failed": ["method", "attempts", "reason"],
  "mfa.challenge_blocked": ["failures", "blocked_until"],
  "mfa.recovery_code_used": ["codes_left"],
  "mfa.recovery_codes_regenerated": ["count"],
  "mfa.reset": ["sessions_revoked"],
  "auth.reauthenticated": ["session_id", "amr"],
  "passkey.registered": ["passkey_id", "name", "device_type", "backed_up", "reason"],
  "passkey.removed": ["passkey_id", "name", "sessions_revoked"],
  "passkey.login": ["passkey_id", "purpose"],
  "passkey.counter_regression": ["passkey_id", "stored_counter", "presented_counter"],
  "oauth.login": ["provider", "identity_id", "mfa_required", "created"],
  "oauth.linked": ["provider", "identity_id", "via"],
  "oauth.unlinked": ["provider", "identity_id"],
  "oauth.failed": ["provider", "reason", "stage"],
  "email.delivery_failed": ["kind", "attempts", "given_up"],
  "user.email_verified": ["method"],
  "user.password_reset": ["sessions_revoked"],
  "user.email_change_requested": [],
  "user.email_changed": [],
  "auth.unlock_offered": [],
  "auth.unlocked": [],
  "signing_key.created": ["algorithm", "state", "reason"],
  "signing_key.promoted": ["algorithm", "previous_kid", "next_kid", "forced"],
  "signing_key.retired": ["algorithm", "state", "replaced_by"],
  "signing_key.reencrypted": ["fields", "key_id"],
  "guard.client_blocked": ["reason", "path", "hits", "blocked_until"],
  "server.started": [
    "version",
    "app_env",
    "database",
    "database_encrypted",
    "tls",
    "trusted_proxies",
    "allowed_hosts",
    "cors_origins",
    "rate_limit_enabled",
    "rate_limit_store",
    "registration_enabled",
    "refresh_cookie",
    "debug",
    "log_to_file",
    "alert_webhook",
  ],
  "migration.applied": ["migration"],
  "audit.pruned": [
    "before",
    "removed_count",
    "first_removed_seq",
    "last_removed_seq",
    "checkpoint_id",
  ],
} as const satisfies Record<string, readonly string[]>;

/** The name of an audited action, e.g. `auth.login.failed`. */
export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** All audit action names, for validation of filters. */
export const AUDIT_ACTION_NAMES = Object.keys(AUDIT_ACTIONS) as AuditAction[];

/** Who did it and from where; {@linkcode auditContext} builds it from a request. */
export interface AuditActor {
  actorType: AuditActorType;
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

/** What {@linkcode recordAudit} appends to the chain. */
export interface AuditEventInput extends AuditActor {
  action: AuditAction;
  outcome: AuditOutcome;
  targetType?: string | null;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

/** The actor of events the server itself causes (start-up, migrations, pruning). */
export const SYSTEM_ACTOR: AuditActor = { actorType: "system", actorId: null };

function databaseKind(url: string): string {
  if (url === ":memory:" || url.includes(":memory:")) return "memory";
  return url.startsWith("file:") ? "file" : "remote";
}

/** The settings `server.started` summarises; `Config` fits. */
export interface ServerStartedSettings {
  appEnv: string;
  databaseUrl: string;
  databaseEncryptionKey?: string;
  tls: { certFile?: string };
  trustedProxies: readonly string[];
  allowedHosts: readonly string[];
  corsOrigins: readonly string[];
  rateLimit: { enabled: boolean; store: string };
  registrationEnabled: boolean;
  refresh: { cookie: boolean };
  debug: boolean;
  logDir?: string;
  alerts: { webhookUrl?: string };
}

/** The security-relevant configuration summary of `server.started`; no secrets, no URLs. */
export function serverStartedDetails(
  config: ServerStartedSettings,
  version: string,
): Record<string, unknown> {
  return {
    version,
    app_env: config.appEnv,
    database: databaseKind(config.databaseUrl),
    database_encrypted: Boolean(config.databaseEncryptionKey),
    tls: Boolean(config.tls.certFile),
    trusted_proxies: config.trustedProxies.length,
    allowed_hosts: config.allowedHosts,
    cors_origins: config.corsOrigins,
    rate_limit_enabled: config.rateLimit.enabled,
    rate_limit_store: config.rateLimit.store,
    registration_enabled: config.registrationEnabled,
    refresh_cookie: config.refresh.cookie,
    debug: config.debug,
    log_to_file: Boolean(config.logDir),
    alert_webhook: Boolean(config.alerts.webhookUrl),
  };
}
