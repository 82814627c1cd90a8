/**
 * The `citadel check` findings about signing-key rotations left half done (CIT-056 and
 * CIT-057): JWT_SECRET_KEY_PREVIOUS kept long after every token it signed expired, and a
 * next signing key published long ago and never promoted.
 */
import { hs256KeyId } from "../../services/jwt.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const DAY_MS = 86_400_000;
/** A previous secret is reported once it has been unneeded this long past the access TTL. */
const PREVIOUS_GRACE_MS = DAY_MS;
/** A next key waiting longer than this is a rotation somebody forgot. */
export const NEXT_KEY_MAX_WAIT_DAYS = 90;

const days = (ms: number) => Math.floor(ms / DAY_MS);

async function previousSecretOutlived(context: CheckContext): Promise<Detail[]> {
  const { jwt } = context.config;
  const database = context.database;
  const previous = context.env.JWT_SECRET_KEY_PREVIOUS?.trim();
  // With EdDSA or ES256 no HS256 token verifies at all; equal secrets are CIT-005's.
  if (jwt.algorithm !== "HS256" || !jwt.secret || !previous || previous === jwt.secret) return [];
  if (!database?.tables.has("hs256_secrets")) return [];
  // `serve` records when each JWT_SECRET_KEY first signed (by key id, never the secret).
  const seen = await database.db.selectFrom("hs256_secrets").select("first_signed_at")
    .where("kid", "=", await hs256KeyId(jwt.secret)).executeTakeFirst();
  if (!seen) return [];
  const ttlMs = jwt.accessTtlSeconds * 1000;
  const unneeded = context.now - seen.first_signed_at - ttlMs;
  if (unneeded <= PREVIOUS_GRACE_MS) return [];
  return [{
    found: `JWT_SECRET_KEY has signed since ${new Date(seen.first_signed_at).toISOString()}, ` +
      `so every access token JWT_SECRET_KEY_PREVIOUS signed expired ${days(unneeded)} ` +
      `day(s) ago (ACCESS_TOKEN_TTL=${jwt.accessTtlSeconds} s); it still verifies tokens ` +
      "anyone holding it can forge",
    setting: "JWT_SECRET_KEY_PREVIOUS",
  }];
}

async function nextKeyWaiting(context: CheckContext): Promise<Detail[]> {
  const { algorithm } = context.config.jwt;
  const database = context.database;
  if (algorithm === "HS256" || !database?.tables.has("signing_keys")) return [];
  const cutoff = context.now - NEXT_KEY_MAX_WAIT_DAYS * DAY_MS;
  const waiting = await database.db.selectFrom("signing_keys").select(["kid", "created_at"])
    .where("state", "=", "next").where("algorithm", "=", algorithm)
    .where("created_at", "<", cutoff).execute();
  return waiting.map((key) => ({
    found: `next key ${key.kid} (${algorithm}) was published ` +
      `${days(context.now - key.created_at)} days ago and never made current, so the ` +
      "current key has gone on signing since",
    fix: `Run \`citadel keys rotate\` to make it current, or \`citadel keys retire ${key.kid}\` ` +
      "if the rotation was abandoned",
  }));
}

/** Rotations of the access-token signing keys left half done. */
export const SIGNING_KEY_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-056",
    severity: "medium",
    group: "jwt",
    title: "JWT_SECRET_KEY_PREVIOUS kept long after every token it signed expired",
    fix: "Unset JWT_SECRET_KEY_PREVIOUS. Keep it only while refresh tokens or API keys " +
      "issued before an upgrade from a release before 0.2 without HASH_PEPPER may still be " +
      "unused: until each is used once, they verify through the pepper derived from it",
    run: previousSecretOutlived,
  }),
  defineCheck({
    id: "CIT-057",
    severity: "low",
    group: "jwt",
    title: `A next signing key waiting unpromoted for over ${NEXT_KEY_MAX_WAIT_DAYS} days`,
    fix: "Run `citadel keys rotate` to make it current, or `citadel keys retire <kid>` if " +
      "the rotation was abandoned",
    run: nextKeyWaiting,
  }),
];
