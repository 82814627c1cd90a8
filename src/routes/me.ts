/**
 * Routes of `/api/v1/me`: the caller's profile, password and email changes, and sessions.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import type { User } from "../db/schema.ts";
import { errors } from "../errors.ts";
import { documented } from "../lib/route_docs.ts";
import { authorize, requireScope } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import type { Services } from "../services/container.ts";
import { sessionView, userView } from "../services/user_view.ts";
import { messageSchema, sessionSchema, userBodySchema, userSchema } from "./response_schemas.ts";

const patchBody = z.object({ name: z.string().trim().min(1).max(200).nullable() });
const passwordBody = z.object({
  current_password: passwordField,
  new_password: passwordField,
  revoke_api_keys: z.boolean().default(false),
});
const sessionParam = z.object({ id: z.string().max(64) });
const emailBody = z.object({
  new_email: z.string().trim().max(320).pipe(z.email("must be a valid email address")),
  password: passwordField,
}).strict();
/** The 202 of an email change: the new address must confirm it. */
const EMAIL_CHANGE_ACCEPTED = {
  message: "Confirm the change with the link sent to the new address",
};
const JSON_CONTENT = { "content-type": "application/json" };

/**
 * The context of a handler with the inputs `validate` checked, named by hand: wrapped in
 * documented(), the handler no longer gets them from Hono's inference.
 */

const meSchema = z.object({
  user: userSchema,
  mfa_enabled: z.boolean(),
  recovery_codes_left: z.number().int(),
}).strict();
const sessionsSchema = z.object({
  sessions: z.array(sessionSchema.extend({ current: z.boolean() }).strict()),
}).strict();
const tags = ["me"];
// Checking a password runs under the login guard: a refused attempt is 429, a store down 503.
const PASSWORD_CHECK = ["too_many_attempts", "guard_unavailable"] as const;

/** `/api/v1/me`: the caller's profile, password and sessions. */
export function meRoutes(services: Services) {
  const { accounts } = services;
  // The body of GET /me, serialised once per cached read of the user.
  const bodies = new WeakMap<User, string>();
  const meBody = (user: User) => {
    let body = bodies.get(user);
    if (body === undefined) {
      const view = userView(user);
      // The MFA state also at the top, where `GET /me` callers look first.
      bodies.set(
        user,
        body = JSON.stringify({
          user: view,
          mfa_enabled: view.mfa_enabled,
          recovery_codes_left: view.recovery_codes_left,
        }),
      );
    }
    return body;
  };

  // Changing the password needs a recent sign-in (step-up), for sessions.
  const stepUp = authorize({ scope: "me:write", fresh: true });
  // Moving the address moves account recovery with it: a session's act only, never a key's.
  const emailStepUp = authorize({ scope: "me:write", fresh: true, sessionOnly: true });

  return new Hono<AppEnv>()
    .get(
      "/",
      requireScope("me:read"),
      documented({
        summary: "The caller's account",
        description: "The MFA state is repeated at the top level.",
        tags,
        responses: { 200: { description: "The caller's account", schema: meSchema } },
      }, async (c) => {
        // Reads for GET come from the per-process user cache; writes read the row fresh.
        const user = await accounts.current(c.get("principal")!.userId, { cached: true });
        return c.body(meBody(user), 200, JSON_CONTENT);
      }),
    )
    .patch(
      "/",
      requireScope("me:write"),
      validate("json", patchBody),
      documented({
        summary: "Change the caller's display name",
        tags,
        responses: { 200: { description: "The updated account", schema: userBodySchema } },
      }, async (c: Validated<{ json: typeof patchBody }>) => {
        const user = await accounts.current(c.get("principal")!.userId);
        const updated = await accounts.updateProfile(user, c.req.valid("json").name);
        return c.json({ user: userView(updated) });
      }),
    )
    .post(
      "/password",
      stepUp,
      validate("json", passwordBody),
      documented({
        summary: "Change the caller's password",
        description: "Needs a recent sign-in (step-up) and the current password (a wrong one " +
          "is 422 on `current_password` and counts as a failed login). Every other session " +
          "ends; with `revoke_api_keys` every API key too.",
        tags,
        responses: { 204: { description: "The password is changed" } },
        errors: [...PASSWORD_CHECK],
      }, async (c: Validated<{ json: typeof passwordBody }>) => {
        const principal = c.get("principal")!;
        const user = await accounts.current(principal.userId);
        const body = c.req.valid("json");
        await accounts.changePassword(user, {
          current: body.current_password,
          next: body.new_password,
          revokeApiKeys: body.revoke_api_keys,
          keepSessionId: principal.sessionId,
        }, auditContext(c));
        return c.body(null, 204);
      }),
    )
    .post(
      "/email",
      emailStepUp,
      validate("json", emailBody),
      documented({
        summary: "Ask to move the caller's account to another email address",
        description: "A session's act only, with a recent sign-in and the password. The new " +
          "address confirms the change with a one-time link; the current one is told. With " +
          "EMAIL_VERIFICATION=required an address in use gets the same 202 (no answer tells " +
          "which addresses have accounts); otherwise it is 409 `email_taken`.",
        tags,
        responses: {
          202: { description: "The confirmation link is on its way", schema: messageSchema },
        },
        errors: ["email_taken", "email_not_configured", ...PASSWORD_CHECK],
      }, async (c: Validated<{ json: typeof emailBody }>) => {
        const user = await accounts.current(c.get("principal")!.userId);
        const body = c.req.valid("json");
        await services.emailChange.request(
          user,
          { newEmail: body.new_email, password: body.password },
          auditContext(c),
        );
        return c.json(EMAIL_CHANGE_ACCEPTED, 202);
      }),
    )
    .get(
      "/sessions",
      requireScope("me:read"),
      documented({
        summary: "The caller's active sessions, newest first",
        description: "`current` marks the session of the access token used.",
        tags,
        responses: { 200: { description: "The active sessions", schema: sessionsSchema } },
      }, async (c) => {
        const principal = c.get("principal")!;
        const rows = await accounts.activeSessions(principal.userId);
        return c.json({
          sessions: rows.map((s) => ({ ...sessionView(s), current: s.id === principal.sessionId })),
        });
      }),
    )
    .delete(
      "/sessions/:id",
      requireScope("me:write"),
      validate("param", sessionParam),
      documented({
        summary: "End one of the caller's sessions",
        tags,
        responses: { 204: { description: "The session has ended" } },
        errors: ["not_found"],
      }, async (c: Validated<{ param: typeof sessionParam }>) => {
        const principal = c.get("principal")!;
        const revoked = await services.sessionEnds.revoke(
          { userId: principal.userId, sessionId: c.req.valid("param").id },
          "user_revoked",
          auditContext(c),
        );
        if (revoked.sessions.length === 0) throw errors.notFound("No such active session");
        return c.body(null, 204);
      }),
    );
}
