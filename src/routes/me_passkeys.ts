/**
 * Routes of `/api/v1/me/passkeys`: a signed-in user's passkeys. Adding one starts with options
 * asked for in a fresh session (the challenge is bound to that session); removing one also
 * needs a fresh sign-in. Listing takes an API key with `me:read`; every change takes a session.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";
import { registrationResponse, requestOrigin } from "./passkey_fields.ts";

// Control and format characters (newlines, bidi overrides) could disguise a name in lists and
// confirmation dialogs.
const name = z.string().trim().min(1, "is required").max(100)
  .regex(/^[^\p{Cc}\p{Cf}]*$/u, "must not contain control or formatting characters");
const idParam = z.object({ id: z.uuid("must be a passkey id") });

/** `/api/v1/me/passkeys`: options, register, list, rename, remove. */
export function mePasskeyRoutes(services: Services) {
  const { accounts, passkeys } = services;
  const session = authorize({ scope: "me:write", sessionOnly: true });
  const sessionStepUp = authorize({ scope: "me:write", sessionOnly: true, fresh: true });

  return new Hono<AppEnv>()
    .get("/", authorize({ scope: "me:read" }), async (c) => {
      return c.json({ passkeys: await passkeys.list(c.get("principal")!.userId) });
    })
    .post("/options", sessionStepUp, async (c) => {
      const principal = c.get("principal")!;
      const user = await accounts.current(principal.userId);
      return c.json(
        await passkeys.registrationOptions(user, principal.sessionId!, requestOrigin(c)),
      );
    })
    .post(
      "/",
      session,
      validate("json", z.object({ name: name.default("Passkey"), response: registrationResponse })),
      async (c) => {
        const principal = c.get("principal")!;
        const user = await accounts.current(principal.userId);
        const created = await passkeys.register(
          user,
          principal.sessionId!,
          c.req.valid("json"),
          requestOrigin(c),
          auditContext(c),
        );
        return c.json(created, 201);
      },
    )
    .patch(
      "/:id",
      session,
      validate("param", idParam),
      validate("json", z.object({ name }).strict()),
      async (c) => {
        const { id } = c.req.valid("param");
        const userId = c.get("principal")!.userId;
        return c.json(await passkeys.rename(userId, id, c.req.valid("json").name));
      },
    )
    .delete("/:id", sessionStepUp, validate("param", idParam), async (c) => {
      const { id } = c.req.valid("param");
      const principal = c.get("principal")!;
      await passkeys.remove(principal.userId, id, auditContext(c), principal.sessionId);
      return c.body(null, 204);
    });
}
