/**
 * Routes of `/api/v1/admin/users`: list, read, change and delete accounts, and revoke their
 * sessions.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import type { User } from "../db/schema.ts";
import { errors } from "../errors.ts";
import { documented } from "../lib/route_docs.ts";
import { requireAdmin, requireSuperAdmin } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import { pageOf } from "./page.ts";
import { auditContext } from "./audit_context.ts";
import type { Services } from "../services/container.ts";
import { fromBase64Url, toBase64Url } from "../lib/crypto.ts";
import { isAdminRole, ROLES } from "../services/roles.ts";
import { sessionView, userView } from "../services/user_view.ts";
import {
  adminPasskeySchema,
  sessionSchema,
  userBodySchema,
  userSchema,
} from "./response_schemas.ts";

const listQuery = z.object({
  status: z.enum(["active", "disabled"]).optional(),
  role: z.enum(ROLES).optional(),
  email_prefix: z.string().trim().min(1).max(320).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const idParam = z.object({ id: z.uuid("must be a user id") });
const passkeyParam = idParam.extend({ passkeyId: z.uuid("must be a passkey id") });
type Id = typeof idParam;
/** A handler's context with its validated inputs, which `documented()` hides from inference. */
const patchBody = z.object({
  status: z.enum(["active", "disabled"]).optional(),
  role: z.enum(ROLES).optional(),
}).refine((b) => b.status !== undefined || b.role !== undefined, "status or role is required");

const revokeBody = z.object({ revoke_api_keys: z.boolean().default(false) });

const userPageSchema = z.object({
  users: z.array(userSchema),
  next_cursor: z.string().nullable(),
}).strict();
const sessionsSchema = z.object({ sessions: z.array(sessionSchema) }).strict();
const passkeysSchema = z.object({ passkeys: z.array(adminPasskeySchema) }).strict();
const revokedSchema = z.object({
  revoked: z.number().int(),
  api_keys_revoked: z.number().int(),
}).strict();

// What answers before the route: ADMIN_ALLOWED_IPS hides the admin routes from elsewhere as an
// unknown route (404 not_found).
const BEFORE_ROUTE = ["not_found"];
const tags = ["admin"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeCursor(user: User): string {
  return toBase64Url(encoder.encode(JSON.stringify([user.created_at, user.id])));
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const [createdAt, id] = JSON.parse(decoder.decode(fromBase64Url(cursor)));
    if (Number.isInteger(createdAt) && typeof id === "string") return [createdAt, id];
  } catch { /* reported below */ }
  throw errors.validation([{ field: "cursor", message: "is not a cursor this API returned" }]);
}

/** `/api/v1/admin/users`: list, read, update, delete users and revoke their sessions. */
export function adminUserRoutes(services: Services) {
  const { accountAdmin } = services;

  return new Hono<AppEnv>()
    .get(
      "/",
      requireAdmin("admin:read"),
      validate("query", listQuery),
      documented({
        summary: "List accounts, oldest first, filtered and cursor-paged",
        tags,
        responses: {
          200: {
            description: "One page of accounts and the next page's cursor",
            schema: userPageSchema,
          },
        },
        errors: BEFORE_ROUTE,
      }, async (c: Validated<{ query: typeof listQuery }>) => {
        const q = c.req.valid("query");
        const rows = await accountAdmin.list({
          status: q.status,
          role: q.role,
          emailPrefix: q.email_prefix,
          after: q.cursor ? decodeCursor(q.cursor) : undefined,
          limit: q.limit + 1,
        });
        const { page, nextCursor } = pageOf(rows, q.limit, encodeCursor);
        return c.json({ users: page.map(userView), next_cursor: nextCursor });
      }),
    )
    .get(
      "/:id",
      requireAdmin("admin:read"),
      validate("param", idParam),
      documented({
        summary: "Read one account",
        tags,
        responses: { 200: { description: "The account", schema: userBodySchema } },
        errors: BEFORE_ROUTE,
      }, async (c: Validated<{ param: Id }>) => {
        return c.json({ user: userView(await accountAdmin.get(c.req.valid("param").id)) });
      }),
    )
    .get(
      "/:id/sessions",
      requireAdmin("admin:read"),
      validate("param", idParam),
      documented({
        summary: "List an account's active sessions",
        tags,
        responses: {
          200: { description: "The account's active sessions", schema: sessionsSchema },
        },
        errors: BEFORE_ROUTE,
      }, async (c: Validated<{ param: Id }>) => {
        const user = await accountAdmin.get(c.req.valid("param").id);
        const rows = await services.accounts.activeSessions(user.id);
        return c.json({ sessions: rows.map(sessionView) });
      }),
    )
    .get(
      "/:id/passkeys",
      requireAdmin("admin:read"),
      validate("param", idParam),
      documented({
        summary: "List an account's passkeys, suspended ones included",
        tags,
        responses: { 200: { description: "The account's passkeys", schema: passkeysSchema } },
        errors: BEFORE_ROUTE,
      }, async (c: Validated<{ param: Id }>) => {
        const user = await accountAdmin.get(c.req.valid("param").id);
        return c.json({ passkeys: await services.passkeys.listForAdmin(user.id) });
      }),
    )
    .delete(
      "/:id/passkeys/:passkeyId",
      requireAdmin("admin:write"),
      validate("param", passkeyParam),
      documented({
        summary: "Remove one of an account's passkeys and end its sessions",
        description: "An administrator's passkey is only a super admin's to remove. The " +
          "account must keep a way to sign in (409 last_sign_in_method).",
        tags,
        responses: { 204: { description: "The passkey is removed and the sessions ended" } },
        errors: [...BEFORE_ROUTE, "forbidden", "passkey_not_found", "last_sign_in_method"],
      }, async (c: Validated<{ param: typeof passkeyParam }>) => {
        const { id, passkeyId } = c.req.valid("param");
        const role = c.get("principal")!.role;
        const target = await accountAdmin.assertMayActOn(role, id);
        // An administrator's second factor is a super admin's to remove, as an MFA reset is.
        if (isAdminRole(target.role) && role !== "super_admin") throw errors.forbidden();
        await services.passkeys.remove(target.id, passkeyId, auditContext(c));
        return c.body(null, 204);
      }),
    )
    .patch(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", patchBody),
      documented({
        summary: "Change an account's status or role",
        description: "Only a super admin changes a role or acts on a super admin; the last " +
          "active super admin stays. Disabling or changing the role ends every session.",
        tags,
        responses: { 200: { description: "The updated account", schema: userBodySchema } },
        errors: [...BEFORE_ROUTE, "forbidden", "last_super_admin"],
      }, async (c: Validated<{ param: Id; json: typeof patchBody }>) => {
        const updated = await accountAdmin.update(
          c.get("principal")!.role,
          c.req.valid("param").id,
          c.req.valid("json"),
          auditContext(c),
        );
        return c.json({ user: userView(updated) });
      }),
    )
    .delete(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      documented({
        summary: "Delete an account and end its sessions",
        description: "Only a super admin deletes a super admin; never the last active one.",
        tags,
        responses: { 204: { description: "The account is deleted" } },
        errors: [...BEFORE_ROUTE, "forbidden", "last_super_admin"],
      }, async (c: Validated<{ param: Id }>) => {
        await accountAdmin.remove(
          c.get("principal")!.role,
          c.req.valid("param").id,
          auditContext(c),
        );
        return c.body(null, 204);
      }),
    )
    .post(
      "/:id/revoke-sessions",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", revokeBody),
      documented({
        summary: "End every session of an account, optionally with its API keys",
        tags,
        responses: {
          200: {
            description: "How many sessions and API keys were revoked",
            schema: revokedSchema,
          },
        },
        errors: [...BEFORE_ROUTE, "forbidden"],
      }, async (c: Validated<{ param: Id; json: typeof revokeBody }>) => {
        const target = await accountAdmin.assertMayActOn(
          c.get("principal")!.role,
          c.req.valid("param").id,
        );
        const revoked = await services.sessionEnds.revoke(
          { userId: target.id, apiKeys: c.req.valid("json").revoke_api_keys },
          "admin_revoked",
          auditContext(c),
        );
        return c.json({
          revoked: revoked.sessions.length,
          api_keys_revoked: revoked.apiKeys.length,
        });
      }),
    )
    // A lost authenticator: super admins only (and with a fresh sign-in, as every admin write).
    .post(
      "/:id/mfa/reset",
      requireSuperAdmin("admin:write"),
      validate("param", idParam),
      documented({
        summary: "Reset an account's second factors (a lost authenticator)",
        description: "Super admins only: removes TOTP, recovery codes and passkeys, and ends " +
          "every session of the account.",
        tags,
        responses: { 204: { description: "The second factors are removed" } },
        errors: [...BEFORE_ROUTE, "forbidden"],
      }, async (c: Validated<{ param: Id }>) => {
        const target = await accountAdmin.assertMayActOn(
          c.get("principal")!.role,
          c.req.valid("param").id,
        );
        await services.mfa.reset(target, auditContext(c));
        return c.body(null, 204);
      }),
    );
}
