/**
 * Routes of `/api/v1/me`: the caller's profile, password and email changes, and sessions.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import type { User } from "../db/schema.ts";
import { errors } from "../errors.ts";
import { authorize, requireScope } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import type { Services } from "../services/container.ts";
import { sessionView, userView } from "../services/user_view.ts";

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
    .get("/", requireScope("me:read"), async (c) => {
      // Reads for GET come from the per-process user cache; writes read the row fresh.
      const user = await accounts.current(c.get("principal")!.userId, { cached: true });
      return c.body(meBody(user), 200, JSON_CONTENT);
    })
    .patch("/", requireScope("me:write"), validate("json", patchBody), async (c) => {
      const user = await accounts.current(c.get("principal")!.userId);
      const updated = await accounts.updateProfile(user, c.req.valid("json").name);
      return c.json({ user: userView(updated) });
    })
    .post("/password", stepUp, validate("json", passwordBody), async (c) => {
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
    })
    .post("/email", emailStepUp, validate("json", emailBody), async (c) => {
      const user = await accounts.current(c.get("principal")!.userId);
      const body = c.req.valid("json");
      await services.emailChange.request(
        user,
        { newEmail: body.new_email, password: body.password },
        auditContext(c),
      );
      return c.json(EMAIL_CHANGE_ACCEPTED, 202);
    })
    .get("/sessions", requireScope("me:read"), async (c) => {
      const principal = c.get("principal")!;
      const rows = await accounts.activeSessions(principal.userId);
      return c.json({
        sessions: rows.map((s) => ({ ...sessionView(s), current: s.id === principal.sessionId })),
      });
    })
    .delete(
      "/sessions/:id",
      requireScope("me:write"),
      validate("param", sessionParam),
      async (c) => {
        const principal = c.get("principal")!;
        const revoked = await services.sessionEnds.revoke(
          { userId: principal.userId, sessionId: c.req.valid("param").id },
          "user_revoked",
          auditContext(c),
        );
        if (revoked.sessions.length === 0) throw errors.notFound("No such active session");
        return c.body(null, 204);
      },
    );
}
