/**
 * The `citadel check` findings about password hashing cost and API key lifetimes (CIT-070 to
 * CIT-072).
 */
import { sql } from "kysely";
import { OWASP_ARGON2 } from "../../platform/password_hasher.ts";
import { type CheckContext, type CheckDefinition, defineCheck } from "./types.ts";

const DAY_MS = 86_400_000;
/** A lifetime beyond the largest API_KEY_MAX_LIFETIME_DAYS (ten years) means "never expires". */
export const NO_EXPIRY_DAYS = 3650;

/** Active keys whose lifetime is over `minDays` (and at most `maxDays` when given). */
async function longLivedKeys(context: CheckContext, minDays: number, maxDays?: number) {
  const database = context.database;
  if (!database?.tables.has("api_keys")) return 0;
  const lifetime = sql<number>`expires_at - created_at`;
  let query = database.db.selectFrom("api_keys").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", context.now)]))
    .where((eb) => eb.or([eb("expires_at", "is", null), eb(lifetime, ">", minDays * DAY_MS)]));
  if (maxDays !== undefined) query = query.where(lifetime, "<=", maxDays * DAY_MS);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Password hashing cost and API key lifetimes. */
export const KEY_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-070",
    severity: "high",
    group: "passwords_keys",
    title: "argon2 parameters below the OWASP minimum",
    fix:
      `Set ARGON2_MEMORY_KIB=${OWASP_ARGON2.memoryKib} ARGON2_TIME_COST=${OWASP_ARGON2.timeCost} ` +
      `ARGON2_PARALLELISM=${OWASP_ARGON2.parallelism} (or higher); existing hashes upgrade at login`,
    run(context) {
      const { memoryKib, timeCost, parallelism } = context.config.argon2;
      const weak = memoryKib < OWASP_ARGON2.memoryKib || timeCost < OWASP_ARGON2.timeCost ||
        parallelism < OWASP_ARGON2.parallelism;
      return weak
        ? [{
          found:
            `argon2id m=${memoryKib},t=${timeCost},p=${parallelism}; OWASP asks for at least ` +
            `m=${OWASP_ARGON2.memoryKib},t=${OWASP_ARGON2.timeCost},p=${OWASP_ARGON2.parallelism}`,
          setting: "ARGON2_MEMORY_KIB",
        }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-071",
    severity: "medium",
    group: "passwords_keys",
    title: "API keys that never expire",
    fix: "Rotate them (POST /api/v1/api-keys/<id>/rotate) or revoke them " +
      "(DELETE /api/v1/admin/api-keys/<id>); new keys always get an expiry",
    async run(context) {
      const n = await longLivedKeys(context, NO_EXPIRY_DAYS);
      return n > 0 ? [{ found: `${n} active API key(s) without an expiry` }] : [];
    },
  }),
  defineCheck({
    id: "CIT-072",
    severity: "medium",
    group: "passwords_keys",
    title: "API keys that outlive API_KEY_MAX_LIFETIME_DAYS",
    fix: "Rotate or revoke them; keys created now are capped at API_KEY_MAX_LIFETIME_DAYS",
    async run(context) {
      const max = context.config.apiKeys.maxLifetimeDays;
      const n = await longLivedKeys(context, max, NO_EXPIRY_DAYS);
      return n > 0 ? [{ found: `${n} active API key(s) with a lifetime over ${max} days` }] : [];
    },
  }),
];
