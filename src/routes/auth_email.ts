/**
 * The email links' routes under `/api/v1/auth`: asking for a verification or reset message
 * (202, the same whether or not an account uses the address), and spending the tokens the
 * messages carry: verify an address, reset a password, confirm an email change, unlock.
 */
import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented, type OperationDoc } from "../lib/route_docs.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { userView } from "../services/user_view.ts";
import { LIMITED, setDeviceCookie, type Validated } from "./auth.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import { messageSchema } from "./response_schemas.ts";

/** The 202 of every `.../request`, whether or not an account uses the address. */
export const REQUEST_ACCEPTED = {
  message: "If an account uses this address, a message is on its way to it",
};

const emailBody = z.object({
  email: z.string().trim().max(320).pipe(z.email("must be a valid email address")),
}).strict();
const tokenField = z.string().trim().min(1, "is required").max(256);
const tokenBody = z.object({ token: tokenField }).strict();
const resetBody = z.object({ token: tokenField, new_password: passwordField }).strict();

/** The description of an `.../request` route. */
function requestDoc(summary: string): OperationDoc {
  return {
    summary,
    description: "202 whether or not an account uses the address (no enumeration), answered " +
      "no sooner than a fixed delay; each address gets a few messages an hour.",
    tags: ["auth"],
    responses: {
      202: { description: "A message is on its way if an account uses it", schema: messageSchema },
    },
    errors: [...LIMITED, "email_not_configured"],
  };
}

// The routes that spend a link's token are not described yet: they answer 400 invalid_token
// (errors.invalidLinkToken, the email issue's contract), and the document files every code
// under its one PROBLEM_STATUS (invalid_token: 401), so their description would be wrong.

/** `/api/v1/auth/...` email routes; `limiter` is the per-IP limit of the auth routes. */
export function authEmailRoutes(services: Services, limiter: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .post(
      "/verify-email/request",
      limiter,
      validate("json", emailBody),
      documented(
        requestDoc("Ask for a new verification link"),
        async (c: Validated<{ json: typeof emailBody }>) => {
          await services.verification.request(c.req.valid("json").email, auditContext(c));
          return c.json(REQUEST_ACCEPTED, 202);
        },
      ),
    )
    .post("/verify-email", limiter, validate("json", tokenBody), async (c) => {
      const user = await services.verification.verify(c.req.valid("json").token, auditContext(c));
      return c.json({ user: userView(user) });
    })
    .post(
      "/password-reset/request",
      limiter,
      validate("json", emailBody),
      documented(
        requestDoc("Ask for a password reset link"),
        async (c: Validated<{ json: typeof emailBody }>) => {
          await services.passwordReset.request(c.req.valid("json").email, auditContext(c));
          return c.json(REQUEST_ACCEPTED, 202);
        },
      ),
    )
    .post("/password-reset", limiter, validate("json", resetBody), async (c) => {
      const body = c.req.valid("json");
      await services.passwordReset.reset(body.token, body.new_password, auditContext(c));
      return c.body(null, 204);
    })
    .post("/confirm-email-change", limiter, validate("json", tokenBody), async (c) => {
      const user = await services.emailChange.confirm(c.req.valid("json").token, auditContext(c));
      return c.json({ user: userView(user) });
    })
    .post("/unlock", limiter, validate("json", tokenBody), async (c) => {
      const { deviceToken } = await services.unlock.unlock(
        c.req.valid("json").token,
        auditContext(c),
      );
      setDeviceCookie(c, deviceToken);
      return c.json({ device_token: deviceToken });
    });
}
