/**
 * Reading the audit log: filtered, keyset-paged listing and the public JSON form of an event.
 */
import type { AuditOutcome, Db } from "../db/schema.ts";
import { type AuditRow, hashedFields } from "./audit.ts";

/** Filters of {@linkcode listAuditEvents}; all optional, combined with AND. */
export interface AuditFilter {
  actorId?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** Inclusive lower bound on occurred_at, epoch ms. */
  since?: number;
  /** Exclusive upper bound on occurred_at, epoch ms. */
  until?: number;
}

/** Paging of {@linkcode listAuditEvents}: keyset on seq, never OFFSET. */
export interface AuditPage {
  order: "asc" | "desc";
  /** Continue after this seq (exclusive) in the given order. */
  afterSeq?: number;
  limit: number;
}

/** Events matching the filter, ordered by seq. */
export async function listAuditEvents(
  db: Db,
  filter: AuditFilter,
  page: AuditPage,
): Promise<AuditRow[]> {
  let query = db.selectFrom("audit_events").selectAll();
  if (filter.actorId !== undefined) query = query.where("actor_id", "=", filter.actorId);
  if (filter.action !== undefined) query = query.where("action", "=", filter.action);
  if (filter.outcome !== undefined) query = query.where("outcome", "=", filter.outcome);
  if (filter.since !== undefined) query = query.where("occurred_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("occurred_at", "<", filter.until);
  if (page.afterSeq !== undefined) {
    query = query.where("seq", page.order === "asc" ? ">" : "<", page.afterSeq);
  }
  return await query.orderBy("seq", page.order).limit(page.limit).execute();
}

/** The columns of an audit export in CSV (`citadel audit export`, the console's export). */
export const AUDIT_CSV_COLUMNS = [
  "seq",
  "id",
  "occurred_at",
  "actor_type",
  "actor_id",
  "action",
  "target_type",
  "target_id",
  "outcome",
  "ip",
  "user_agent",
  "request_id",
  "details",
  "prev_hash",
  "hash",
] as const;

/** The public JSON form of an event: snake_case, ISO-8601 time, details as an object. */
export function auditEventJson(row: AuditRow): Record<string, unknown> {
  return {
    ...hashedFields(row),
    seq: Number(row.seq),
    occurred_at: new Date(Number(row.occurred_at)).toISOString(),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}
