/**
 * Routes of `/api/v1/me/identities`: the provider identities linked to the caller's account.
 * Listing takes an API key with `me:read`; linking takes a session (the proof that the account's
 * owner is present is the sign-in that made it), unlinking a fresh one.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";
import { getCookie } from "hono/cookie";
import { OAUTH_FLOW_COOKIE } from "../services/oauth_flows.ts";

const idParam = z.object({ id: z.uuid("must be an identity id") });
const linkBody = z.object({ link_code: z.string().min(1, "is required").max(128) }).strict();

/** `/api/v1/me/identities`: list, link (with a link code), unlink. */
export function meIdentityRoutes(services: Services) {
  const { accounts, oauthIdentities } = services;
  const session = authorize({ scope: "me:write", sessionOnly: true });
  const sessionStepUp = authorize({ scope: "me:write", sessionOnly: true, fresh: true });

  return new Hono<AppEnv>()
    .get("/", authorize({ scope: "me:read" }), async (c) => {
      return c.json({ identities: await oauthIdentities.list(c.get("principal")!.userId) });
    })
    .post("/link", session, validate("json", linkBody), async (c) => {
      const user = await accounts.current(c.get("principal")!.userId);
      const linked = await oauthIdentities.link(
        user,
        c.req.valid("json").link_code,
        auditContext(c),
        getCookie(c, OAUTH_FLOW_COOKIE),
      );
      return c.json(linked);
    })
    .delete("/:id", sessionStepUp, validate("param", idParam), async (c) => {
      const user = await accounts.current(c.get("principal")!.userId);
      await oauthIdentities.unlink(user, c.req.valid("param").id, auditContext(c));
      return c.body(null, 204);
    });
}
