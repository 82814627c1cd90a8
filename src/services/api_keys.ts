import type { Principal } from "../app_types.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import { displayPrefix, generateApiKey, isWellFormedApiKey } from "./api_key_format.ts";
import type { AuditActor } from "./audit_events.ts";
import type { Audit } from "./container.ts";
import { hex, hmac } from "./crypto.ts";

/** Every scope a key can hold; admin scopes only for admin owners. */
export const API_KEY_SCOPES = [
  "me:read",
  "me:write",
  "api_keys:read",
  "api_keys:write",
  "admin:read",
  "admin:write",
] as const;
export type ApiKeyScope = typeof API_KEY_SCOPES[number];
const ADMIN_SCOPES = new Set<string>(["admin:read", "admin:write"]);

/** Dependencies of {@linkcode createApiKeyService}. */
export interface ApiKeyDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, "apiKeys">;
  pepperKey: Promise<CryptoKey>;
  audit: Audit;
}

/** What a verified key stands for, cached briefly per process. */
interface Resolved {
  principal: Principal;
  validUntil: number;
  fetchedAt: number;
}

const invalidKey = () =>
  new AppError(401, "invalid_api_key", {
    detail: "The API key is invalid, expired or revoked",
    headers: { "www-authenticate": 'Bearer realm="citadel", error="invalid_token"' },
  });

/** How long a verified key is trusted from memory: bounds revocation delay across processes. */
const CACHE_MS = 500;
/** Keys whose keyed hash is remembered; the oldest goes first beyond this. */
const HASHED_LIMIT = 1024;
/** `last_used_at` is written at most this often per key (no write per request). */
const TOUCH_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;

/** API keys: creation, listing, rotation with overlap, revocation and fast verification. */
export function createApiKeyService(deps: ApiKeyDeps) {
  const { db, clock, config, audit } = deps;
  const cache = new Map<string, Resolved>();
  const touched = new Map<string, number>();
  // Presented key -> its keyed hash, for keys that resolved: a key in use costs its
  // HMAC (an async WebCrypto call) once, not on every request.
  const hashed = new Map<string, string>();

  const hashKey = async (key: string) => hex(await hmac(await deps.pepperKey, `ak:${key}`));

  const forgetKey = (apiKeyId: string) => {
    for (const [hash, entry] of cache) {
      if (entry.principal.apiKeyId === apiKeyId) cache.delete(hash);
    }
  };

  async function lookup(hash: string, now: number): Promise<Resolved | undefined> {
    const row = await db.selectFrom("api_key_secrets as s")
      .innerJoin("api_keys as k", "k.id", "s.api_key_id")
      .innerJoin("users as u", "u.id", "k.user_id")
      .select([
        "k.id",
        "k.user_id",
        "k.scopes",
        "k.expires_at",
        "k.revoked_at",
        "k.rate_limit_per_minute",
        "s.retired_at",
        "u.role",
        "u.status",
      ])
      .where("s.key_hash", "=", hash).executeTakeFirst();
    if (!row || row.revoked_at !== null || row.status !== "active") return undefined;
    const validUntil = Math.min(row.expires_at, row.retired_at ?? Infinity);
    if (validUntil <= now) return undefined;
    return {
      principal: {
        kind: "api_key",
        userId: row.user_id,
        role: row.role,
        apiKeyId: row.id,
        scopes: new Set(JSON.parse(row.scopes) as string[]),
        rateLimitPerMinute: row.rate_limit_per_minute ?? config.apiKeys.perMinute,
      },
      validUntil,
      fetchedAt: now,
    };
  }

  function touch(apiKeyId: string, ip: string, now: number) {
    if (now - (touched.get(apiKeyId) ?? -Infinity) < TOUCH_EVERY_MS) return;
    touched.set(apiKeyId, now);
    void db.updateTable("api_keys").set({ last_used_at: now, last_used_ip: ip })
      .where("id", "=", apiKeyId).execute().catch(() => touched.delete(apiKeyId));
  }

  function checkScopes(scopes: string[], ownerRole: string) {
    const isAdmin = ownerRole === "admin" || ownerRole === "super_admin";
    const forbidden = scopes.filter((s) => ADMIN_SCOPES.has(s) && !isAdmin);
    if (forbidden.length > 0) {
      throw new AppError(422, "validation_failed", {
        detail: "The request has invalid fields",
        errors: [{ field: "scopes", message: `only admins may grant ${forbidden.join(", ")}` }],
      });
    }
  }

  return {
    /**
     * Verifies a presented key and returns its principal. Malformed keys and bad
     * checksums are refused without touching the database.
     */
    async resolve(key: string, ip: string): Promise<Principal> {
      let hash = hashed.get(key);
      if (hash === undefined) {
        if (!isWellFormedApiKey(key)) throw invalidKey();
        hash = await hashKey(key);
      }
      const now = clock.now();
      let entry = cache.get(hash);
      if (!entry || now - entry.fetchedAt > CACHE_MS) {
        entry = await lookup(hash, now);
        if (!entry) {
          cache.delete(hash);
          hashed.delete(key);
          throw invalidKey();
        }
        cache.set(hash, entry);
        if (!hashed.has(key)) {
          if (hashed.size >= HASHED_LIMIT) hashed.delete(hashed.keys().next().value!);
          hashed.set(key, hash);
        }
      }
      if (entry.validUntil <= now) throw invalidKey();
      touch(entry.principal.apiKeyId!, ip, now);
      return entry.principal;
    },

    /** Creates a key for its owner; the secret is returned only here. */
    async create(
      owner: { id: string; role: string },
      input: { name: string; scopes: string[]; expiresInDays: number; rateLimitPerMinute?: number },
      actor: AuditActor,
    ) {
      checkScopes(input.scopes, owner.role);
      const now = clock.now();
      const key = generateApiKey();
      const row = {
        id: crypto.randomUUID(),
        user_id: owner.id,
        name: input.name,
        prefix: displayPrefix(key),
        scopes: JSON.stringify([...new Set(input.scopes)]),
        rate_limit_per_minute: input.rateLimitPerMinute ?? null,
        created_at: now,
        expires_at: now + input.expiresInDays * DAY_MS,
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("api_keys").values(row).execute();
        await trx.insertInto("api_key_secrets").values({
          key_hash: await hashKey(key),
          api_key_id: row.id,
          created_at: now,
          retired_at: null,
        }).execute();
        await audit(trx, {
          ...actor,
          action: "api_key.created",
          outcome: "success",
          targetType: "api_key",
          targetId: row.id,
          details: {
            name: row.name,
            scopes: input.scopes,
            expires_at: new Date(row.expires_at).toISOString(),
            prefix: row.prefix,
          },
        });
      });
      return { row, key };
    },

    /**
     * Issues a new secret; the old one keeps working for `overlapHours` (0 ends it now).
     * Older retired secrets end now, so at most two secrets work at once.
     */
    async rotate(apiKeyId: string, overlapHours: number, actor: AuditActor) {
      const now = clock.now();
      const key = generateApiKey();
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("api_key_secrets").set({ retired_at: now })
          .where("api_key_id", "=", apiKeyId).where("retired_at", ">", now).execute();
        await trx.updateTable("api_key_secrets").set({ retired_at: now + overlapHours * 3_600_000 })
          .where("api_key_id", "=", apiKeyId).where("retired_at", "is", null).execute();
        await trx.insertInto("api_key_secrets").values({
          key_hash: await hashKey(key),
          api_key_id: apiKeyId,
          created_at: now,
          retired_at: null,
        }).execute();
        await trx.updateTable("api_keys").set({ prefix: displayPrefix(key) })
          .where("id", "=", apiKeyId).execute();
        await audit(trx, {
          ...actor,
          action: "api_key.rotated",
          outcome: "success",
          targetType: "api_key",
          targetId: apiKeyId,
          details: {
            prefix: displayPrefix(key),
            overlap_until: new Date(now + overlapHours * 3_600_000).toISOString(),
          },
        });
      });
      forgetKey(apiKeyId);
      return key;
    },

    /** Revokes a key at once in this process; other processes follow within CACHE_MS. */
    async revoke(apiKeyId: string, actor: AuditActor, reason: string) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("api_keys").set({ revoked_at: clock.now() })
          .where("id", "=", apiKeyId).where("revoked_at", "is", null).execute();
        await audit(trx, {
          ...actor,
          action: "api_key.revoked",
          outcome: "success",
          targetType: "api_key",
          targetId: apiKeyId,
          details: { reason },
        });
      });
      forgetKey(apiKeyId);
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
