/**
 * The API key service: creation, listing, rotation with overlap, revocation, and the fast
 * verification of a presented key (cached, hashed with the pepper).
 */
import type { SecurityNotices } from "./security_notices.ts";
import type { Principal } from "./principal.ts";
import type { Selectable } from "kysely";
import type { ApiKeysTable, Db } from "../db/schema.ts";
import { AppError, errors, problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import { displayPrefix, generateApiKey, isWellFormedApiKey } from "../lib/api_key_format.ts";
import { mayActOn } from "./roles.ts";
import { assertMayRotate, grantNewKey, type KeyCaps, type KeyRequest } from "./api_key_grants.ts";
import type { AuditActor } from "./audit_events.ts";
import type { Audit } from "./audit.ts";
import { hex, hmac } from "../lib/crypto.ts";
import type { Pepper } from "./pepper.ts";

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

/** The operator's API-key limits (API_KEY_*); `Config` fits. */
export interface ApiKeySettings {
  apiKeys: KeyCaps & {
    /** API_KEYS_PER_USER_MAX: active keys one account may hold. */
    perUserMax: number;
  };
}

/** Dependencies of {@linkcode createApiKeyService}. */
export interface ApiKeyDeps {
  db: Db;
  clock: Clock;
  config: ApiKeySettings;
  pepper: Pepper;
  audit: Audit;
  /** The "an API key was created" notice to the owner. */
  notices?: SecurityNotices;
  /** API keys presented as credentials, by outcome. */
  metrics?: Pick<Metrics, "apiKeyAuthentications">;
}

/** What a verified key stands for, cached briefly per process. */
interface Resolved {
  principal: Principal;
  validUntil: number;
  fetchedAt: number;
}

const invalidKey = () =>
  problem("invalid_api_key", {
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
/** Revoked keys stay listed (with `revoked_at`) this long, so their owner sees what ended. */
export const REVOKED_KEYS_LISTED_DAYS = 30;

const tooManyKeys = (max: number) =>
  problem("api_key_limit_reached", {
    detail: `An account may hold at most ${max} active API keys (API_KEYS_PER_USER_MAX); ` +
      "revoke one first",
  });

/** API keys: creation, listing, rotation with overlap, revocation and fast verification. */
export function createApiKeyService(deps: ApiKeyDeps) {
  const { db, clock, config, audit } = deps;
  const cache = new Map<string, Resolved>();
  const touched = new Map<string, number>();
  // Presented key -> its keyed hash, for keys that resolved: a key in use costs its
  // HMAC (an async WebCrypto call) once, not on every request.
  const hashed = new Map<string, string>();

  const hashWith = async (pepperKey: CryptoKey, key: string) =>
    hex(await hmac(pepperKey, `ak:${key}`));
  const hashKey = async (key: string) => hashWith(await deps.pepper.key, key);

  /**
   * A key stored under a legacy pepper (before an upgrade) is re-hashed under the current
   * one when it is first presented.
   */
  async function rehashLegacy(key: string, currentHash: string): Promise<void> {
    for (const legacy of await deps.pepper.legacy) {
      const updated = await db.updateTable("api_key_secrets").set({ key_hash: currentHash })
        .where("key_hash", "=", await hashWith(legacy, key)).executeTakeFirst();
      if (updated.numUpdatedRows > 0n) return;
    }
  }

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
        "u.mfa_enabled_at",
        (eb) =>
          eb.exists(
            eb.selectFrom("passkeys as p").select("p.id").whereRef("p.user_id", "=", "k.user_id"),
          )
            .as("has_passkey"),
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
        expiresAt: row.expires_at,
        secondFactor: row.mfa_enabled_at !== null || Boolean(row.has_passkey),
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

  /**
   * Verifies a presented key and returns its principal. Malformed keys and bad checksums are
   * refused without touching the database.
   */
  async function resolveKey(key: string, ip: string): Promise<Principal> {
    let hash = hashed.get(key);
    if (hash === undefined) {
      if (!isWellFormedApiKey(key)) throw invalidKey();
      hash = await hashKey(key);
    }
    const now = clock.now();
    let entry = cache.get(hash);
    if (!entry || now - entry.fetchedAt > CACHE_MS) {
      entry = await lookup(hash, now);
      if (!entry && !hashed.has(key)) {
        // Looked up again even when this request re-hashed nothing: a concurrent first use
        // of the same legacy key may just have done it.
        await rehashLegacy(key, hash);
        entry = await lookup(hash, now);
      }
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
  }

  return {
    /**
     * Verifies a presented key and returns its principal (see `resolveKey`), counting the
     * outcome: a 401 `invalid_api_key` is `invalid`, any other failure (the database)
     * `unavailable`.
     */
    async resolve(key: string, ip: string): Promise<Principal> {
      try {
        const principal = await resolveKey(key, ip);
        deps.metrics?.apiKeyAuthentications.inc(["success"]);
        return principal;
      } catch (error) {
        const invalid = error instanceof AppError && error.code === "invalid_api_key";
        deps.metrics?.apiKeyAuthentications.inc([invalid ? "invalid" : "unavailable"]);
        throw error;
      }
    },

    /**
     * Creates a key for its owner, as asked by `caller` (the owner's session or one of
     * its keys); the secret is returned only here. See {@linkcode grantNewKey}.
     */
    async create(
      owner: { id: string; role: string },
      request: KeyRequest & { name: string },
      caller: Principal,
      actor: AuditActor,
    ) {
      const now = clock.now();
      const grant = grantNewKey(request, {
        caller,
        ownerRole: owner.role,
        caps: config.apiKeys,
        now,
      });
      const key = generateApiKey();
      const row = {
        id: crypto.randomUUID(),
        user_id: owner.id,
        name: request.name,
        prefix: displayPrefix(key),
        scopes: JSON.stringify(grant.scopes),
        rate_limit_per_minute: grant.rateLimitPerMinute,
        created_at: now,
        expires_at: grant.expiresAt,
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
      };
      await db.transaction().execute(async (trx) => {
        // Counted in the write transaction, so parallel creations cannot pass the cap.
        const active = await trx.selectFrom("api_keys")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("user_id", "=", owner.id).where("revoked_at", "is", null)
          .where("expires_at", ">", now).executeTakeFirstOrThrow();
        if (Number(active.n) >= config.apiKeys.perUserMax) {
          throw tooManyKeys(config.apiKeys.perUserMax);
        }
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
            scopes: grant.scopes,
            expires_at: new Date(row.expires_at).toISOString(),
            prefix: row.prefix,
          },
        });
        await deps.notices?.apiKeyCreated(trx, owner.id, row.name, actor.ip);
      });
      return { row, key };
    },

    /** The key `id` of `userId` that is not revoked, or 404. */
    async findOwn(userId: string, id: string) {
      const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id)
        .where("user_id", "=", userId).where("revoked_at", "is", null).executeTakeFirst();
      if (!row) throw errors.notFound("No such API key");
      return row;
    },

    /** Every key, by id, one page (the admin listing). */
    async listAll(
      query: { userId?: string; includeRevoked: boolean; afterId?: string; limit: number },
    ) {
      let q = db.selectFrom("api_keys").selectAll().orderBy("id").limit(query.limit);
      if (query.userId) q = q.where("user_id", "=", query.userId);
      if (!query.includeRevoked) q = q.where("revoked_at", "is", null);
      if (query.afterId) q = q.where("id", ">", query.afterId);
      return await q.execute();
    },

    /**
     * The active key `id` for an administrator of `actorRole` to change or revoke: a key
     * is protected like its owner (only a super admin acts on a super admin's keys).
     */
    async findForAdmin(actorRole: string, id: string) {
      const row = await db.selectFrom("api_keys as k").innerJoin("users as u", "u.id", "k.user_id")
        .selectAll("k").select("u.role as owner_role").where("k.id", "=", id)
        .where("k.revoked_at", "is", null).executeTakeFirst();
      if (!row) throw errors.notFound("No such API key");
      if (!mayActOn(actorRole, row.owner_role)) throw errors.forbidden();
      return row;
    },

    /** A user's keys, newest first, with those revoked in the last 30 days. */
    async listOwn(userId: string) {
      const revokedSince = clock.now() - REVOKED_KEYS_LISTED_DAYS * DAY_MS;
      return await db.selectFrom("api_keys").selectAll().where("user_id", "=", userId)
        .where((eb) => eb.or([eb("revoked_at", "is", null), eb("revoked_at", ">", revokedSince)]))
        .orderBy("created_at", "desc").execute();
    },

    /**
     * Issues a new secret for `target`, as asked by `caller`; the current one keeps
     * working for `overlapHours` (0 ends it now). Secrets retired by earlier rotations
     * keep their own overlap window.
     */
    async rotate(
      target: Selectable<ApiKeysTable>,
      overlapHours: number,
      caller: Principal,
      actor: AuditActor,
    ) {
      assertMayRotate({
        scopes: JSON.parse(target.scopes),
        expiresAt: target.expires_at,
        perMinute: target.rate_limit_per_minute ?? config.apiKeys.perMinute,
      }, caller);
      const apiKeyId = target.id;
      const now = clock.now();
      const key = generateApiKey();
      await db.transaction().execute(async (trx) => {
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
      await db.transaction().execute((trx) => revokeWhere(trx, { apiKeyId }, actor, reason));
      forgetKey(apiKeyId);
    },

    /**
     * Revokes every active key of a user inside the caller's transaction (a password
     * change or an admin's revocation asked for it); call `forget` with the ids after
     * the commit.
     */
    revokeAllOf(
      trx: Db,
      userId: string,
      actor: AuditActor,
      reason: string,
      createdBy?: number,
    ) {
      return revokeWhere(trx, { userId, createdBy }, actor, reason);
    },

    /** Drops revoked keys from this process's cache. */
    forget(apiKeyIds: readonly string[]) {
      for (const id of apiKeyIds) forgetKey(id);
    },

    /** Sets a key's own rate limit (admins only: it may exceed API_KEY_RATE_LIMIT_PER_MINUTE). */
    async setRateLimit(apiKeyId: string, perMinute: number | null, actor: AuditActor) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("api_keys").set({ rate_limit_per_minute: perMinute })
          .where("id", "=", apiKeyId).execute();
        await audit(trx, {
          ...actor,
          action: "api_key.updated",
          outcome: "success",
          targetType: "api_key",
          targetId: apiKeyId,
          details: { rate_limit_per_minute: perMinute },
        });
      });
      forgetKey(apiKeyId);
      return await db.selectFrom("api_keys").selectAll().where("id", "=", apiKeyId)
        .executeTakeFirstOrThrow();
    },
  };

  function revokeWhere(
    trx: Db,
    which: { apiKeyId?: string; userId?: string; createdBy?: number },
    actor: AuditActor,
    reason: string,
  ): Promise<string[]> {
    return revokeApiKeys(trx, which, { audit, now: clock.now(), actor, reason });
  }
}

/**
 * Revokes the active keys matched by `which` (one key, or every key of a user, or those created
 * by a time) inside the caller's transaction, each audited as `api_key.revoked`; returns
 * their ids. The service's processes also drop them from their caches; a CLI process has none.
 */
export async function revokeApiKeys(
  trx: Db,
  which: { apiKeyId?: string; userId?: string; createdBy?: number },
  context: { audit: Audit; now: number; actor: AuditActor; reason: string },
): Promise<string[]> {
  let query = trx.selectFrom("api_keys").select("id").where("revoked_at", "is", null);
  if (which.apiKeyId !== undefined) query = query.where("id", "=", which.apiKeyId);
  if (which.userId !== undefined) query = query.where("user_id", "=", which.userId);
  if (which.createdBy !== undefined) {
    query = query.where("created_at", "<=", which.createdBy);
  }
  const ids = (await query.execute()).map((row) => row.id);
  for (const id of ids) {
    await trx.updateTable("api_keys").set({ revoked_at: context.now }).where("id", "=", id)
      .execute();
    await context.audit(trx, {
      ...context.actor,
      action: "api_key.revoked",
      outcome: "success",
      targetType: "api_key",
      targetId: id,
      details: { reason: context.reason },
    });
  }
  return ids;
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
