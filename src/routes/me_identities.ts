/**
 * Routes of `/api/v1/me/identities`: the provider identities linked to the caller's account.
 * Listing takes an API key with `me:read`; linking takes a session (the proof that the account's
 * owner is present is the sign-in that made it), unlinking a fresh one.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";
import { getCookie } from "hono/cookie";
import { OAUTH_FLOW_COOKIE } from "../services/oauth_flows.ts";
import { moment } from "./response_schemas.ts";

const idParam = z.object({ id: z.uuid("must be an identity id") });
const linkBody = z.object({ link_code: z.string().min(1, "is required").max(128) }).strict();

/**
 * The context of a handler with the inputs `validate` checked, named by hand: wrapped in
 * documented(), the handler no longer gets them from Hono's inference.
 */

/** A linked identity as services/oauth_identities.ts shows it (never the provider's tokens). */
const identitySchema = z.object({
  id: z.uuid(),
  provider: z.string(),
  provider_name: z.string(),
  email: z.string().nullable(),
  email_verified: z.boolean(),
  created_at: moment,
  last_used_at: moment.nullable(),
}).strict();
const identityListSchema = z.object({ identities: z.array(identitySchema) }).strict();
const tags = ["me"];

/** `/api/v1/me/identities`: list, link (with a link code), unlink. */
export function meIdentityRoutes(services: Services) {
  const { accounts, oauthIdentities } = services;
  const session = authorize({ scope: "me:write", sessionOnly: true });
  const sessionStepUp = authorize({ scope: "me:write", sessionOnly: true, fresh: true });

  return new Hono<AppEnv>()
    .get(
      "/",
      authorize({ scope: "me:read" }),
      documented({
        summary: "The provider identities linked to the caller's account, oldest first",
        tags,
        responses: {
          200: { description: "The linked identities", schema: identityListSchema },
        },
      }, async (c) => {
        return c.json({ identities: await oauthIdentities.list(c.get("principal")!.userId) });
      }),
    )
    .post(
      "/link",
      session,
      validate("json", linkBody),
      documented({
        summary: "Link a provider identity with the link code a provider's sign-in offered",
        description: "The code must have been offered to this account, whose verified address " +
          "is the one the provider verified; a request that carries the OAuth flow cookie must " +
          "come from the browser the flow ran in. Linking an identity already linked here " +
          "answers it again.",
        tags,
        responses: { 200: { description: "The linked identity", schema: identitySchema } },
        // The flow cookie makes it a cookie-carrying write: the CSRF guard judges its origin.
        errors: ["invalid_oauth_code", "identity_taken", "csrf_rejected"],
      }, async (c: Validated<{ json: typeof linkBody }>) => {
        const user = await accounts.current(c.get("principal")!.userId);
        const linked = await oauthIdentities.link(
          user,
          c.req.valid("json").link_code,
          auditContext(c),
          getCookie(c, OAUTH_FLOW_COOKIE),
        );
        return c.json(linked);
      }),
    )
    .delete(
      "/:id",
      sessionStepUp,
      validate("param", idParam),
      documented({
        summary: "Unlink one of the caller's provider identities",
        description: "The account must keep a way to sign in: unlinking the last identity of " +
          "an account with no password and no passkey is 409 `last_sign_in_method`.",
        tags,
        responses: { 204: { description: "The identity is unlinked" } },
        errors: ["identity_not_found", "last_sign_in_method"],
      }, async (c: Validated<{ param: typeof idParam }>) => {
        const user = await accounts.current(c.get("principal")!.userId);
        await oauthIdentities.unlink(user, c.req.valid("param").id, auditContext(c));
        return c.body(null, 204);
      }),
    );
}
