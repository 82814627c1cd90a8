/**
 * Audit retention: removing a verified prefix of the chain and leaving a signed checkpoint, in
 * one transaction.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import { recordAudit } from "./audit.ts";
import { SYSTEM_ACTOR } from "./audit_events.ts";
import { type AuditCheckpoint, signCheckpoint } from "./audit_checkpoint.ts";
import { verifyAuditChain } from "./audit_verify.ts";

/** Options of {@linkcode pruneAudit}. */
export interface PruneAuditOptions {
  /** Signs the checkpoint; the first of auditSigningSecrets(config). */
  signingKey: string;
  /** Further secrets that may have signed earlier checkpoints. */
  verifySecrets?: readonly string[];
  clock: Clock;
  /** Report what would be removed without changing anything. */
  dryRun?: boolean;
}

/** What {@linkcode pruneAudit} removed. */
export interface PruneResult {
  removed: number;
  firstSeq?: number;
  lastSeq?: number;
  lastHash?: string;
  checkpointId?: string;
}

/** A prune refused because the chain is already broken: pruning must not hide evidence. */
export class AuditChainBrokenError extends Error {
  constructor(readonly seq: number, readonly reason: string) {
    super(`Audit chain is broken at seq ${seq}: ${reason}; run citadel audit verify`);
    this.name = "AuditChainBrokenError";
  }
}

/**
 * Removes the oldest events, those that occurred before `before` (epoch ms), up to the
 * first newer one, so only a prefix of the chain goes. In one transaction it verifies
 * the chain, authorises the DELETE trigger for exactly that prefix, deletes it, removes
 * the authorisation, stores a checkpoint signed with HMAC-SHA256 (last removed seq and
 * hash, count) where the remaining chain now starts, and appends `audit.pruned`.
 */
export async function pruneAudit(
  db: Db,
  before: number,
  options: PruneAuditOptions,
): Promise<PruneResult> {
  return await db.transaction().execute(async (trx) => {
    const newer = await trx.selectFrom("audit_events").select((eb) => eb.fn.min("seq").as("seq"))
      .where("occurred_at", ">=", before).executeTakeFirst();
    const range = await trx.selectFrom("audit_events")
      .select((eb) => [eb.fn.min("seq").as("first"), eb.fn.max("seq").as("last")])
      .$if(newer?.seq != null, (qb) => qb.where("seq", "<", Number(newer!.seq)))
      .executeTakeFirst();
    if (range?.first == null || range.last == null) return { removed: 0 };
    const firstSeq = Number(range.first);
    const lastSeq = Number(range.last);
    const last = await trx.selectFrom("audit_events").select("hash").where("seq", "=", lastSeq)
      .executeTakeFirstOrThrow();
    const removed = lastSeq - firstSeq + 1;
    if (options.dryRun) return { removed, firstSeq, lastSeq, lastHash: last.hash };

    const verification = await verifyAuditChain(trx, {
      signingSecrets: [options.signingKey, ...(options.verifySecrets ?? [])],
    });
    if (!verification.ok) {
      const broken = verification.firstBroken!;
      throw new AuditChainBrokenError(broken.seq, broken.reason);
    }

    await trx.insertInto("audit_prune_authorizations").values({ up_to_seq: lastSeq }).execute();
    const deleted = await trx.deleteFrom("audit_events").where("seq", "<=", lastSeq)
      .executeTakeFirst();
    await trx.deleteFrom("audit_prune_authorizations").execute();
    if (Number(deleted.numDeletedRows) !== removed) {
      throw new Error("Audit prune removed an unexpected number of rows");
    }

    const unsigned: Omit<AuditCheckpoint, "signature"> = {
      id: crypto.randomUUID(),
      created_at: options.clock.now(),
      pruned_before: before,
      first_seq: firstSeq,
      last_seq: lastSeq,
      last_hash: last.hash,
      removed_count: removed,
    };
    const signature = await signCheckpoint(unsigned, options.signingKey);
    await trx.insertInto("audit_checkpoints").values({ ...unsigned, signature }).execute();
    await recordAudit(trx, {
      ...SYSTEM_ACTOR,
      action: "audit.pruned",
      outcome: "success",
      details: {
        before: new Date(before).toISOString(),
        removed_count: removed,
        first_removed_seq: firstSeq,
        last_removed_seq: lastSeq,
        checkpoint_id: unsigned.id,
      },
    }, { clock: options.clock });
    return { removed, firstSeq, lastSeq, lastHash: last.hash, checkpointId: unsigned.id };
  });
}
