/**
 * The email links' routes under `/api/v1/auth`: asking for a verification or reset message
 * (202, the same whether or not an account uses the address), and spending the tokens the
 * messages carry: verify an address, reset a password, confirm an email change, unlock.
 */
import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { LINK_TOKEN_PROBLEM } from "../errors.ts";
import { documented, type OperationDoc } from "../lib/route_docs.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { userView } from "../services/user_view.ts";
import { setDeviceCookie } from "./auth.ts";
import { LIMITED } from "./auth_docs.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import { messageSchema, userBodySchema } from "./response_schemas.ts";

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

/** The problems of every email route: the limiter's, and email off. */
const EMAIL_PROBLEMS = [...LIMITED, "email_not_configured"] as const;
/** The problems of the routes that spend a link's token. */
const LINK_PROBLEMS = [...EMAIL_PROBLEMS, LINK_TOKEN_PROBLEM];

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
    errors: EMAIL_PROBLEMS,
  };
}

const unlockedSchema = z.object({ device_token: z.string() }).strict();

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
    .post(
      "/verify-email",
      limiter,
      validate("json", tokenBody),
      documented({
        summary: "Verify an address with the token of its link",
        tags: ["auth"],
        responses: { 200: { description: "The address is verified", schema: userBodySchema } },
        errors: LINK_PROBLEMS,
      }, async (c: Validated<{ json: typeof tokenBody }>) => {
        const user = await services.verification.verify(c.req.valid("json").token, auditContext(c));
        return c.json({ user: userView(user) });
      }),
    )
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
    .post(
      "/password-reset",
      limiter,
      validate("json", resetBody),
      documented({
        summary: "Set a new password with the token of a reset link",
        description: "Ends every session, and removes what was set up on the account before " +
          "its address was proven (second factor, passkeys, API keys, provider identities). A " +
          "refused password (422) leaves the link usable.",
        tags: ["auth"],
        responses: { 204: { description: "The password is set" } },
        errors: LINK_PROBLEMS,
      }, async (c: Validated<{ json: typeof resetBody }>) => {
        const body = c.req.valid("json");
        await services.passwordReset.reset(body.token, body.new_password, auditContext(c));
        return c.body(null, 204);
      }),
    )
    .post(
      "/confirm-email-change",
      limiter,
      validate("json", tokenBody),
      documented({
        summary: "Confirm a new address with the token of its link",
        tags: ["auth"],
        responses: {
          200: { description: "The account has its new address", schema: userBodySchema },
        },
        errors: [...LINK_PROBLEMS, "email_taken"],
      }, async (c: Validated<{ json: typeof tokenBody }>) => {
        const user = await services.emailChange.confirm(c.req.valid("json").token, auditContext(c));
        return c.json({ user: userView(user) });
      }),
    )
    .post(
      "/unlock",
      limiter,
      validate("json", tokenBody),
      documented({
        summary: "Get past a locked account's login limit with the token of an unlock link",
        description: "Answers a device credential: logins that present it (body or cookie) " +
          "are not refused by the account's spent budget.",
        tags: ["auth"],
        responses: {
          200: {
            description: "The device credential",
            schema: unlockedSchema,
            headers: { "Set-Cookie": "The device credential (`__Host-citadel_device`)" },
          },
        },
        errors: LINK_PROBLEMS,
      }, async (c: Validated<{ json: typeof tokenBody }>) => {
        const { deviceToken } = await services.unlock.unlock(
          c.req.valid("json").token,
          auditContext(c),
        );
        setDeviceCookie(c, deviceToken);
        return c.json({ device_token: deviceToken });
      }),
    );
}
