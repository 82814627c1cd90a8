/**
 * The signed checkpoints audit pruning leaves where the chain now starts: signing them and
 * checking their signature across secret rotations.
 */
import type { Selectable } from "kysely";
import type { AuditCheckpointsTable } from "../db/schema.ts";
import { canonicalJson } from "../lib/canonical_json.ts";
import { constantTimeEqual, hex, hmac, importHmacKey } from "../lib/crypto.ts";

/** A stored prune checkpoint. */
export type AuditCheckpoint = Selectable<AuditCheckpointsTable>;

const LABEL = "citadel/audit-checkpoint/v1";

/** The secrets checkpoints may be signed with; `Config` fits. */
export interface AuditSigningSettings {
  hashPepper?: string;
  jwt: { secret?: string; previousSecret?: string };
}

/**
 * The secrets checkpoints may be signed with, preferred first: HASH_PEPPER, then the
 * JWT secret, then the previous JWT secret (so a rotation does not orphan old checkpoints).
 */
export function auditSigningSecrets(config: AuditSigningSettings): string[] {
  return [config.hashPepper, config.jwt.secret, config.jwt.previousSecret]
    .filter((s): s is string => Boolean(s));
}

/** A key for checkpoint signatures only, derived so the raw secret never signs audit data. */
async function checkpointKey(secret: string): Promise<CryptoKey> {
  const derived = await hmac(await importHmacKey(secret), LABEL);
  return await importHmacKey(new Uint8Array(derived));
}

function signedPart(checkpoint: Omit<AuditCheckpoint, "signature">): string {
  return canonicalJson({
    id: checkpoint.id,
    created_at: checkpoint.created_at,
    pruned_before: checkpoint.pruned_before,
    first_seq: checkpoint.first_seq,
    last_seq: checkpoint.last_seq,
    last_hash: checkpoint.last_hash,
    removed_count: checkpoint.removed_count,
  });
}

/** HMAC-SHA256 of the checkpoint's canonical JSON, hex. */
export async function signCheckpoint(
  checkpoint: Omit<AuditCheckpoint, "signature">,
  secret: string,
): Promise<string> {
  const key = await checkpointKey(secret);
  return hex(await hmac(key, signedPart(checkpoint)));
}

/** True when one of the candidate secrets produced the checkpoint's signature. */
export async function checkpointSignatureValid(
  checkpoint: AuditCheckpoint,
  secrets: readonly string[],
): Promise<boolean> {
  for (const secret of secrets) {
    if (constantTimeEqual(await signCheckpoint(checkpoint, secret), checkpoint.signature)) {
      return true;
    }
  }
  return false;
}
