/**
 * The routes of the audit log for admins: `GET /api/v1/admin/audit` (filtered, cursor-paged
 * events) and `GET /api/v1/admin/audit/verify` (the chain verification).
 */
import { type Context, Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import type { Db } from "../db/schema.ts";
import { documented } from "../lib/route_docs.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { pageOf } from "./page.ts";
import { AUDIT_ACTION_NAMES } from "../services/audit_events.ts";
import { auditEventJson, listAuditEvents } from "../services/audit_query.ts";
import { fromBase64Url, toBase64Url } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import { auditSigningSecrets, type AuditSigningSettings } from "../services/audit_checkpoint.ts";
import { type AuditVerification, verifyAuditChain } from "../services/audit_verify.ts";
import { moment } from "./response_schemas.ts";

/** How long one walk of the chain answers the verification route (the walk reads every row). */
const VERIFY_REUSE_MS = 60_000;

/** The opaque cursor of the admin audit listing: base64url of `{"s":<seq>}`. */
export function encodeAuditCursor(seq: number): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify({ s: seq })));
}

function decodeCursor(cursor: string): number | undefined {
  try {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
    const parsed = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)));
    return Number.isSafeInteger(parsed?.s) && parsed.s > 0 ? parsed.s : undefined;
  } catch {
    return undefined;
  }
}

const isoTime = z.iso.datetime({ offset: true, error: "must be an ISO-8601 date-time" })
  .transform((v) => Date.parse(v));

const querySchema = z.object({
  actor: z.string().trim().min(1).max(128).optional(),
  action: z.enum(AUDIT_ACTION_NAMES as [string, ...string[]], { error: "unknown action" })
    .optional(),
  outcome: z.enum(["success", "failure", "denied"], {
    error: "must be success, failure or denied",
  }).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  cursor: z.string().optional().transform((v, ctx) => {
    if (v === undefined) return undefined;
    const seq = decodeCursor(v);
    if (seq === undefined) {
      ctx.addIssue({ code: "custom", message: "is not a cursor this API returned" });
      return z.NEVER;
    }
    return seq;
  }),
  limit: z.coerce.number({ error: "must be a whole number from 1 to 100" }).int().min(1)
    .max(100).default(50),
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** An event as services/audit_query.ts `auditEventJson` shows it. */
const auditEventSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  occurred_at: moment,
  actor_type: z.enum(["user", "api_key", "system", "anonymous"]),
  actor_id: z.string().nullable(),
  // Not an enum: rows written under an action since renamed stay readable.
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  outcome: z.enum(["success", "failure", "denied"]),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  request_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prev_hash: sha256Hex,
  hash: sha256Hex,
}).strict();
const eventPageSchema = z.object({
  items: z.array(auditEventSchema),
  next_cursor: z.string().nullable(),
}).strict();
const verificationSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  first_broken: z.object({ seq: z.number().int(), id: z.string(), reason: z.string() }).strict()
    .nullable(),
}).strict();
const NO_STORE = { "Cache-Control": "no-store: the log grows; a copy is never reused" };
// What answers before the route: ADMIN_ALLOWED_IPS hides the admin routes from elsewhere as an
// unknown route (404 not_found).
const BEFORE_ROUTE = ["not_found"];
const tags = ["audit"];

/**
 * `GET /api/v1/admin/audit`: audit events newest first for admins, filtered by actor
 * (actor_id), action, outcome and time range (`since` inclusive, `until` exclusive),
 * paged with an opaque cursor: `{ items, next_cursor }`. `GET /api/v1/admin/audit/verify`:
 * the whole chain walked as `citadel audit verify` walks it (checkpoints included),
 * `{ok, checked, first_broken}`; one walk answers every caller for a minute, and callers
 * during a walk share it, so the route cannot be used to make the server re-read the log.
 */
export function auditRoutes(deps: { db: Db; clock: Clock; config: AuditSigningSettings }) {
  let recent: { at: number; result: Promise<AuditVerification> } | undefined;
  const verification = () => {
    const now = deps.clock.now();
    if (!recent || now - recent.at > VERIFY_REUSE_MS) {
      const result = verifyAuditChain(deps.db, {
        signingSecrets: auditSigningSecrets(deps.config),
      });
      recent = { at: now, result };
      result.catch(() => recent = undefined);
    }
    return recent.result;
  };
  return new Hono<AppEnv>().get(
    "/api/v1/admin/audit/verify",
    requireAdmin("admin:read"),
    documented({
      summary: "Verify the audit log's hash chain, checkpoints included",
      description: "The whole chain walked as `citadel audit verify` walks it; one walk " +
        "answers every caller for a minute.",
      tags,
      responses: {
        200: {
          description: "Whether the chain holds, and its first broken link",
          schema: verificationSchema,
          headers: NO_STORE,
        },
      },
      errors: BEFORE_ROUTE,
    }, async (c) => {
      const result = await verification();
      c.header("cache-control", "no-store");
      return c.json({
        ok: result.ok,
        checked: result.checked,
        first_broken: result.firstBroken ?? null,
      });
    }),
  ).get(
    "/api/v1/admin/audit",
    requireAdmin("admin:read"),
    validate("query", querySchema),
    documented({
      summary: "List audit events newest first, filtered and cursor-paged",
      description: "Filters combine: actor (actor_id), action, outcome, since (inclusive) and " +
        "until (exclusive).",
      tags,
      responses: {
        200: {
          description: "One page of events and the next page's cursor",
          schema: eventPageSchema,
          headers: NO_STORE,
        },
      },
      errors: BEFORE_ROUTE,
    }, async (c: Context<AppEnv, string, { out: { query: z.output<typeof querySchema> } }>) => {
      const q = c.req.valid("query");
      const rows = await listAuditEvents(deps.db, {
        actorId: q.actor,
        action: q.action,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
      }, { order: "desc", afterSeq: q.cursor, limit: q.limit + 1 });
      const { page, nextCursor } = pageOf(
        rows,
        q.limit,
        (last) => encodeAuditCursor(Number(last.seq)),
      );
      c.header("cache-control", "no-store");
      return c.json({ items: page.map(auditEventJson), next_cursor: nextCursor });
    }),
  );
}
