/**
 * The `citadel check` findings about passkeys: signature counters that went backwards, a sign
 * of a cloned authenticator (CIT-036, from the audit log), and production without a relying
 * party, where every passkey route answers 503 (CIT-093).
 */
import { type CheckDefinition, defineCheck } from "./types.ts";

/** Counter regressions within this many days are reported. */
export const REGRESSION_DAYS = 7;
const DAY_MS = 86_400_000;

/** Cloned authenticators, as the audit log recorded them. */
export const PASSKEY_DATABASE_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-036",
    severity: "high",
    group: "database",
    title: "A passkey's signature counter went backwards",
    fix: "Ask each user named in the audit log (GET /api/v1/admin/audit?action=" +
      "passkey.counter_regression) whether they copied the passkey; if not, remove it " +
      "(DELETE /api/v1/admin/users/:id/passkeys/:passkeyId) and revoke their sessions",
    async run(context) {
      const database = context.database;
      if (!database?.tables.has("audit_events")) return [];
      const rows = await database.db.selectFrom("audit_events").select("target_id")
        .where("action", "=", "passkey.counter_regression")
        .where("occurred_at", ">=", context.now - REGRESSION_DAYS * DAY_MS).execute();
      if (rows.length === 0) return [];
      const users = new Set(rows.map((r) => r.target_id)).size;
      return [{
        found: `${rows.length} sign-in(s) with a passkey whose signature counter did not grow, ` +
          `for ${users} user(s), in the last ${REGRESSION_DAYS} days: the passkey may have been ` +
          "cloned (each was refused)",
      }];
    },
  }),
];

/** What production without a relying party means for users. */
export const PASSKEY_CONFIG_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-093",
    severity: "info",
    group: "config",
    title: "Passkeys are unavailable",
    fix: "Set PUBLIC_URL=https://auth.example.com (its host is the RP ID), or WEBAUTHN_RP_ID and " +
      "WEBAUTHN_ORIGINS",
    run(context) {
      const { email, webauthn } = context.config;
      const configured = email.publicUrl !== undefined ||
        (webauthn.rpId !== undefined && webauthn.origins.length > 0);
      return context.production && !configured
        ? [{
          found: "APP_ENV=production without PUBLIC_URL or WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS: " +
            "every passkey route answers 503 passkeys_unavailable",
          setting: "PUBLIC_URL",
        }]
        : [];
    },
  }),
];
