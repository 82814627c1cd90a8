/**
 * The life cycle of asymmetric signing keys in the database: the first key, `rotate`
 * (publish a next key; later promote it), `retire` (compromise), the listing, and the
 * private key's encryption under ENCRYPTION_KEY. The in-memory view that signs and
 * verifies is key_ring.ts.
 *
 * States: `next` is published in the JWKS but signs nothing, so verifiers' caches learn it
 * before it is used; `current` signs; `previous` verifies until every token it signed
 * has expired (`expires_at`), then drops out by itself; `retired` verifies nothing.
 */
import { isUniqueViolation } from "../db/unique_violation.ts";
import type { Db, SigningKeysTable } from "../db/schema.ts";
import { problem } from "../errors.ts";
import { toBase64Url } from "../lib/crypto.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";
import {
  type AsymmetricAlgorithm,
  generateKeyPair,
  type PublicJwk,
} from "../lib/signing_algorithms.ts";
import type { Clock } from "../platform/clock.ts";
import type { Audit } from "./audit.ts";
import { type AuditActor, SYSTEM_ACTOR } from "./audit_events.ts";

/** A row of `signing_keys`. */
export type SigningKeyRow = SigningKeysTable;

/** Where a private key's envelope lives: it decrypts only in this row and column. */
export const PRIVATE_KEY_FIELD = { table: "signing_keys", column: "private_key" } as const;

/** How long after its last possible signature a previous key keeps verifying (clock skew). */
export const VERIFY_SKEW_SECONDS = 60;

/** What {@linkcode createSigningKeys} needs. */
export interface SigningKeyDeps {
  db: Db;
  clock: Clock;
  /** Built on first use: HS256 installations never need ENCRYPTION_KEY. */
  cipher: () => Promise<FieldCipher>;
  audit: Audit;
  /** Access-token lifetime: how long a previous key must keep verifying. */
  accessTtlSeconds: number;
  /** JWKS_PUBLISH_DELAY: how long a next key is published before it may sign. */
  publishDelaySeconds: number;
}

/** A key as `keys list` and the admin API show it: no key material. */
export interface SigningKeyView {
  kid: string;
  algorithm: string;
  state: string;
  /** Unknown (null) only for HS256 secrets, which live in the configuration. */
  created_at: string | null;
  activated_at: string | null;
  expires_at: string | null;
  retired_at: string | null;
}

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** The listing form of a row. */
export function signingKeyView(row: SigningKeyRow): SigningKeyView {
  return {
    kid: row.kid,
    algorithm: row.algorithm,
    state: row.state,
    created_at: iso(row.created_at),
    activated_at: iso(row.activated_at),
    expires_at: iso(row.expires_at),
    retired_at: iso(row.retired_at),
  };
}

/** The public JWK of a row, exactly as the JWKS publishes it. */
export function publicJwkOf(row: Pick<SigningKeyRow, "public_jwk">): PublicJwk {
  return JSON.parse(row.public_jwk) as PublicJwk;
}

/** JWT_ALGORITHM differs from the current key's and this caller may not switch. */
export class AlgorithmMismatchError extends Error {
  constructor(configured: string, current: string) {
    super(
      `JWT_ALGORITHM is ${configured} but the current signing key is ${current}: ` +
        "`citadel serve` switches algorithms as it starts (retiring the old keys); restart " +
        `it with JWT_ALGORITHM=${configured}, or set JWT_ALGORITHM=${current} here`,
    );
    this.name = "AlgorithmMismatchError";
  }
}

/** What `rotate` did. */
export type RotateOutcome =
  | { action: "published"; next: SigningKeyRow }
  | { action: "promoted"; current: SigningKeyRow; previous?: SigningKeyRow; next: SigningKeyRow };

/** The signing-key life cycle; see the module comment. */
export function createSigningKeys(deps: SigningKeyDeps) {
  const { db, clock, audit } = deps;

  async function newKey(
    trx: Db,
    alg: AsymmetricAlgorithm,
    state: "next" | "current",
    now: number,
  ): Promise<SigningKeyRow> {
    const { publicJwk, privatePkcs8 } = await generateKeyPair(alg);
    const cipher = await deps.cipher();
    const row: SigningKeyRow = {
      kid: publicJwk.kid,
      algorithm: alg,
      state,
      public_jwk: JSON.stringify(publicJwk),
      private_key: await cipher.encrypt(toBase64Url(privatePkcs8), {
        ...PRIVATE_KEY_FIELD,
        rowId: publicJwk.kid,
      }),
      created_at: now,
      activated_at: state === "current" ? now : null,
      deactivated_at: null,
      expires_at: null,
      retired_at: null,
    };
    privatePkcs8.fill(0);
    await trx.insertInto("signing_keys").values(row).execute();
    return row;
  }

  /** One audit event about a key, in the transaction that changed it. */
  const auditKey = (
    trx: Db,
    actor: AuditActor,
    action: "signing_key.created" | "signing_key.promoted" | "signing_key.retired",
    kid: string,
    details: Record<string, unknown>,
  ) =>
    audit(trx, {
      ...actor,
      action,
      outcome: "success",
      targetType: "signing_key",
      targetId: kid,
      details,
    });

  const inState = (executor: Db, state: "next" | "current") =>
    executor.selectFrom("signing_keys").selectAll().where("state", "=", state)
      .executeTakeFirst();

  /** The expiry of a key that stops signing at `now`: its last token's `exp`, plus skew. */
  const previousUntil = (now: number) => now + (deps.accessTtlSeconds + VERIFY_SKEW_SECONDS) * 1000;

  /** Retires a row; returns it as written. */
  async function retireRow(trx: Db, row: SigningKeyRow, now: number): Promise<SigningKeyRow> {
    const retired = {
      ...row,
      state: "retired" as const,
      retired_at: now,
      deactivated_at: row.deactivated_at ?? now,
    };
    await trx.updateTable("signing_keys")
      .set({ state: "retired", retired_at: now, deactivated_at: retired.deactivated_at })
      .where("kid", "=", row.kid).execute();
    return retired;
  }

  return {
    /** Every key, newest first, retired ones included. */
    list(): Promise<SigningKeyRow[]> {
      return db.selectFrom("signing_keys").selectAll().orderBy("created_at", "desc")
        .orderBy("kid").execute();
    },

    /** The keys that verify at `now` (next, current, unexpired previous): the JWKS. */
    active(now: number): Promise<SigningKeyRow[]> {
      // A previous key also lives out this process's own token lifetime: the process that
      // rotated (say `citadel keys rotate` with another ACCESS_TOKEN_TTL) set expires_at.
      const signedUntil = now - (deps.accessTtlSeconds + VERIFY_SKEW_SECONDS) * 1000;
      return db.selectFrom("signing_keys").selectAll()
        .where((eb) =>
          eb.or([
            eb("state", "in", ["next", "current"]),
            eb.and([
              eb("state", "=", "previous"),
              eb.or([eb("expires_at", ">", now), eb("deactivated_at", ">", signedUntil)]),
            ]),
          ])
        )
        .orderBy("created_at", "desc").orderBy("kid").execute();
    },

    /**
     * Makes sure a key of `alg` is current: creates the first one. When the current key is
     * of another algorithm, only a caller allowed to switch (`serve` and the edge entries as
     * they start) retires the old algorithm's keys (their tokens are refused anyway: only the
     * configured algorithm is accepted) and creates one of the new; anyone else gets an
     * {@linkcode AlgorithmMismatchError}, so two configurations cannot take turns retiring
     * each other's keys. Safe when several processes start at once: the unique index lets
     * one insert win.
     */
    async ensureCurrent(
      alg: AsymmetricAlgorithm,
      options: { switchAlgorithm?: boolean } = {},
    ): Promise<void> {
      const existing = await inState(db, "current");
      if (existing?.algorithm === alg) return;
      if (existing && !options.switchAlgorithm) {
        throw new AlgorithmMismatchError(alg, existing.algorithm);
      }
      try {
        await db.transaction().execute(async (trx) => {
          const now = clock.now();
          const stale = await trx.selectFrom("signing_keys").selectAll()
            .where("state", "!=", "retired").where("algorithm", "!=", alg).execute();
          for (const row of stale) {
            await retireRow(trx, row, now);
            await auditKey(trx, SYSTEM_ACTOR, "signing_key.retired", row.kid, {
              algorithm: row.algorithm,
              state: row.state,
            });
          }
          // Another process may have won the race; compare the algorithm, not only the
          // existence: on D1 this read does not see the retirements queued above.
          if ((await inState(trx, "current"))?.algorithm === alg) return;
          const row = await newKey(trx, alg, "current", now);
          await auditKey(trx, SYSTEM_ACTOR, "signing_key.created", row.kid, {
            algorithm: alg,
            state: "current",
            reason: stale.length ? "algorithm_changed" : "first_start",
          });
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    },

    /**
     * Without a next key: creates one (published, not signing). With one published for at
     * least JWKS_PUBLISH_DELAY (or `force`): promotes it to current, turns the current key
     * into previous and publishes a new next. Otherwise refuses with 409
     * `rotation_too_early`, naming the seconds left.
     */
    async rotate(
      alg: AsymmetricAlgorithm,
      options: { force?: boolean },
      actor: AuditActor,
    ): Promise<RotateOutcome> {
      return await db.transaction().execute(async (trx): Promise<RotateOutcome> => {
        const now = clock.now();
        const next = await inState(trx, "next");
        if (!next || next.algorithm !== alg) {
          if (next) {
            await retireRow(trx, next, now);
            await auditKey(trx, actor, "signing_key.retired", next.kid, {
              algorithm: next.algorithm,
              state: next.state,
            });
          }
          const created = await newKey(trx, alg, "next", now);
          await auditKey(trx, actor, "signing_key.created", created.kid, {
            algorithm: alg,
            state: "next",
            reason: "rotate",
          });
          return { action: "published", next: created };
        }
        const waitedMs = now - next.created_at;
        const delayMs = deps.publishDelaySeconds * 1000;
        if (waitedMs < delayMs && !options.force) {
          const left = Math.ceil((delayMs - waitedMs) / 1000);
          throw problem("rotation_too_early", {
            detail:
              `The next key ${next.kid} has been published for ${
                Math.floor(waitedMs / 1000)
              } s; verifiers may not have fetched it yet. Rotate again in ${left} s ` +
              "(JWKS_PUBLISH_DELAY), or force it",
          });
        }
        const current = await inState(trx, "current");
        // The rows as written, built here: on D1 a transaction's reads do not see its writes.
        const previous = current && {
          ...current,
          state: "previous" as const,
          deactivated_at: now,
          expires_at: previousUntil(now),
        };
        if (previous) {
          await trx.updateTable("signing_keys")
            .set({ state: "previous", deactivated_at: now, expires_at: previous.expires_at })
            .where("kid", "=", previous.kid).execute();
        }
        const promoted = { ...next, state: "current" as const, activated_at: now };
        await trx.updateTable("signing_keys").set({ state: "current", activated_at: now })
          .where("kid", "=", next.kid).execute();
        const newNext = await newKey(trx, alg, "next", now);
        await auditKey(trx, actor, "signing_key.promoted", next.kid, {
          algorithm: alg,
          previous_kid: current?.kid ?? null,
          next_kid: newNext.kid,
          forced: waitedMs < delayMs,
        });
        return {
          action: "promoted",
          current: promoted,
          previous: previous ?? undefined,
          next: newNext,
        };
      });
    },

    /**
     * Retires a key at once (compromise): it leaves the JWKS and stops verifying on every
     * process within a second. Retiring the current key promotes the next one, or creates a
     * new current key, so citadel keeps signing. 404 `key_not_found` for an unknown kid.
     */
    async retire(kid: string, actor: AuditActor): Promise<SigningKeyRow> {
      return await db.transaction().execute(async (trx) => {
        const now = clock.now();
        const row = await trx.selectFrom("signing_keys").selectAll().where("kid", "=", kid)
          .executeTakeFirst();
        if (!row) throw problem("key_not_found", { detail: `No signing key has kid ${kid}` });
        if (row.state === "retired") return row;
        const retired = await retireRow(trx, row, now);
        let replacedBy: string | null = null;
        if (row.state === "current") {
          const next = await inState(trx, "next");
          if (next) {
            await trx.updateTable("signing_keys").set({ state: "current", activated_at: now })
              .where("kid", "=", next.kid).execute();
            replacedBy = next.kid;
          } else {
            replacedBy = (await newKey(trx, row.algorithm, "current", now)).kid;
          }
        }
        await auditKey(trx, actor, "signing_key.retired", kid, {
          algorithm: row.algorithm,
          state: row.state,
          replaced_by: replacedBy,
        });
        return retired;
      });
    },

    /** The private key's PKCS #8 base64url text; throws if the envelope does not belong. */
    async privateKeyOf(row: Pick<SigningKeyRow, "kid" | "private_key">): Promise<string> {
      const cipher = await deps.cipher();
      return await cipher.decrypt(row.private_key, { ...PRIVATE_KEY_FIELD, rowId: row.kid });
    },
  };
}

export type SigningKeys = ReturnType<typeof createSigningKeys>;
