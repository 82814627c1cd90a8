/**
 * Verifying the audit hash chain: finds a modified, deleted or reordered row, and checks the
 * chain starts where the latest checkpoint ends.
 */
import type { Db } from "../db/schema.ts";
import { eventHash, GENESIS_HASH } from "./audit.ts";
import { type AuditCheckpoint, checkpointSignatureValid } from "./audit_checkpoint.ts";

/** Where and why the chain is broken. */
export interface BrokenLink {
  /** The seq of the first row (or checkpoint end) that fails; 0 when before any row. */
  seq: number;
  /** The id of that row or checkpoint. */
  id: string;
  reason: string;
}

/** The result of {@linkcode verifyAuditChain}. */
export interface AuditVerification {
  ok: boolean;
  /** Rows whose links were checked. */
  checked: number;
  /** The newest link; record it elsewhere to detect a truncated tail later. */
  head?: { seq: number; hash: string };
  firstBroken?: BrokenLink;
}

/** Options of {@linkcode verifyAuditChain}. */
export interface VerifyAuditOptions {
  /** Secrets that may have signed prune checkpoints (see auditSigningSecrets). */
  signingSecrets?: readonly string[];
  batchSize?: number;
}

async function verifyCheckpoints(
  db: Db,
  secrets: readonly string[],
): Promise<{ start: { seq: number; hash: string }; broken?: BrokenLink }> {
  const checkpoints: AuditCheckpoint[] = await db.selectFrom("audit_checkpoints").selectAll()
    .orderBy("last_seq", "asc").execute();
  let expectedFirst = 1;
  for (const cp of checkpoints) {
    const at = { seq: Number(cp.last_seq), id: cp.id };
    if (secrets.length === 0) {
      return {
        start: { seq: 0, hash: GENESIS_HASH },
        broken: { ...at, reason: "checkpoint signature cannot be checked without the signing key" },
      };
    }
    if (!await checkpointSignatureValid(cp, secrets)) {
      return {
        start: { seq: 0, hash: GENESIS_HASH },
        broken: { ...at, reason: "checkpoint signature is invalid" },
      };
    }
    if (Number(cp.first_seq) !== expectedFirst) {
      return {
        start: { seq: 0, hash: GENESIS_HASH },
        broken: {
          ...at,
          reason: `checkpoint starts at seq ${cp.first_seq}, expected ${expectedFirst}`,
        },
      };
    }
    expectedFirst = Number(cp.last_seq) + 1;
  }
  const last = checkpoints.at(-1);
  return {
    start: last
      ? { seq: Number(last.last_seq), hash: last.last_hash }
      : { seq: 0, hash: GENESIS_HASH },
  };
}

/**
 * Walks the whole chain in seq order and reports the first link that does not hold: a
 * modified row (its hash no longer matches its content), a deleted row (a gap in seq or
 * a prev_hash that is not the previous row's hash) or a reordered row (seq is hashed,
 * so moving a row breaks both). After a prune the chain must start exactly where the
 * latest signed checkpoint ends.
 */
export async function verifyAuditChain(
  db: Db,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const batchSize = options.batchSize ?? 1000;
  const { start, broken } = await verifyCheckpoints(db, options.signingSecrets ?? []);
  if (broken) return { ok: false, checked: 0, firstBroken: broken };
  let expected = start;
  let checked = 0;
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = await db.selectFrom("audit_events").selectAll()
      .where("seq", ">", after).orderBy("seq", "asc").limit(batchSize).execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      const fail = (reason: string) => ({
        ok: false,
        checked,
        firstBroken: { seq, id: row.id, reason },
      });
      if (seq <= expected.seq) {
        return fail(`row is older than the chain start (seq ${expected.seq + 1})`);
      }
      if (seq !== expected.seq + 1) {
        return fail(`seq ${expected.seq + 1} to ${seq - 1} missing: rows were deleted`);
      }
      if (row.prev_hash !== expected.hash) {
        return fail("prev_hash does not match the previous link: a row was deleted or reordered");
      }
      let hash: string;
      try {
        hash = await eventHash(row.prev_hash, row);
      } catch {
        return fail("details are not valid JSON: the row was modified");
      }
      if (hash !== row.hash) {
        return fail("hash does not match the row's content: the row was modified");
      }
      expected = { seq, hash: row.hash };
      checked++;
    }
    if (rows.length < batchSize) break;
    after = Number(rows[rows.length - 1].seq);
  }
  return { ok: true, checked, head: expected };
}
