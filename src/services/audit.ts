/**
 * Writing the tamper-evident audit log: each event's allow-listed, redacted details hashed
 * onto the chain inside the transaction of the change it records.
 */
import type { Selectable } from "kysely";
import type { AuditEventsTable, Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import { AUDIT_ACTIONS, type AuditEventInput } from "./audit_events.ts";
import { canonicalJson } from "../lib/canonical_json.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { redact, redactText } from "../lib/redact.ts";

export type { AuditAction, AuditEventInput } from "./audit_events.ts";

/** One stored audit event. */
export type AuditRow = Selectable<AuditEventsTable>;

/** The `prev_hash` of the first event ever written. */
export const GENESIS_HASH = "0".repeat(64);

const MAX_TEXT = 512;
const MAX_ITEMS = 50;

/**
 * Appends an audit event. Pass the transaction of the change it records (never the
 * plain db from inside a transaction: the local driver has one connection).
 */
export type Audit = (executor: Db, event: AuditEventInput) => Promise<unknown>;

/** Options of {@linkcode recordAudit}. */
export interface RecordAuditOptions {
  clock: Clock;
  /**
   * Counts each appended event by outcome. An event appended in a transaction that later
   * rolls back (or a D1 transaction run again) stays counted: the counter sees appends, not
   * commits.
   */
  metrics?: Pick<Metrics, "auditEvents">;
}

/** The fields of a row that its hash covers: everything except the two hashes. */
export function hashedFields(row: Omit<AuditRow, "prev_hash" | "hash">): Record<string, unknown> {
  return {
    seq: row.seq,
    id: row.id,
    occurred_at: row.occurred_at,
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    outcome: row.outcome,
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details: JSON.parse(row.details),
  };
}

/** `SHA-256(prev_hash || canonical JSON of the event)`, lower-case hex. */
export async function eventHash(
  prevHash: string,
  row: Omit<AuditRow, "prev_hash" | "hash">,
): Promise<string> {
  return await sha256Hex(prevHash + canonicalJson(hashedFields(row)));
}

function clip(value: unknown): unknown {
  if (typeof value === "string") {
    return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}...` : value;
  }
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map(clip);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v)]));
  }
  return value;
}

/**
 * Keeps only the fields allow-listed for the action, redacted and clipped. Redaction
 * runs before clipping so a cut never hides a secret from the patterns.
 */
export function auditDetails(
  action: AuditEventInput["action"],
  details: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const allowed: readonly string[] | undefined = AUDIT_ACTIONS[action];
  if (!allowed) throw new TypeError(`Unknown audit action "${action}"`);
  const kept: Record<string, unknown> = {};
  for (const field of allowed) {
    const value = details?.[field];
    if (value !== undefined) kept[field] = value;
  }
  return clip(redact(kept)) as Record<string, unknown>;
}

function text(value: string | null | undefined, max: number): string | null {
  if (value === undefined || value === null || value === "") return null;
  return value.length > max ? value.slice(0, max) : value;
}

/** The newest link of the chain: the last row, or the latest prune checkpoint, or genesis. */
export async function chainHead(db: Db): Promise<{ seq: number; hash: string }> {
  const last = await db.selectFrom("audit_events").select(["seq", "hash"])
    .orderBy("seq", "desc").limit(1).executeTakeFirst();
  if (last) return { seq: Number(last.seq), hash: last.hash };
  const checkpoint = await db.selectFrom("audit_checkpoints").select(["last_seq", "last_hash"])
    .orderBy("last_seq", "desc").limit(1).executeTakeFirst();
  if (checkpoint) return { seq: Number(checkpoint.last_seq), hash: checkpoint.last_hash };
  return { seq: 0, hash: GENESIS_HASH };
}

async function append(trx: Db, event: AuditEventInput, now: number): Promise<AuditRow> {
  const head = await chainHead(trx);
  const body = {
    seq: head.seq + 1,
    id: crypto.randomUUID(),
    occurred_at: now,
    actor_type: event.actorType,
    actor_id: text(event.actorId, 128),
    action: event.action,
    target_type: text(event.targetType, 64),
    target_id: text(event.targetId, 128),
    outcome: event.outcome,
    ip: text(event.ip, 64),
    user_agent: text(event.userAgent ? redactText(event.userAgent) : null, MAX_TEXT),
    request_id: text(event.requestId, 128),
    details: canonicalJson(auditDetails(event.action, event.details)),
  };
  const row: AuditRow = { ...body, prev_hash: head.hash, hash: await eventHash(head.hash, body) };
  await trx.insertInto("audit_events").values(row).execute();
  return row;
}

/**
 * Appends one event to the audit hash chain and returns the stored row.
 *
 * Pass the Kysely transaction of the change being recorded: the event then commits or
 * rolls back with it, and a failed audit write fails the operation (fail closed). Given
 * a plain Kysely instance it opens its own write transaction. Either way the head is
 * read inside a write transaction (BEGIN IMMEDIATE locally), so concurrent writers,
 * even in other processes, are serialised and cannot fork the chain; a trigger in the
 * database rejects any row that does not extend the current head.
 */
export async function recordAudit(
  db: Db,
  event: AuditEventInput,
  options: RecordAuditOptions,
): Promise<AuditRow> {
  const now = options.clock.now();
  const row = db.isTransaction
    ? await append(db, event, now)
    : await db.transaction().execute((trx) => append(trx, event, now));
  options.metrics?.auditEvents.inc([event.outcome]);
  return row;
}
