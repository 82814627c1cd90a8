/**
 * Routes of `/api/v1/me/passkeys`: a signed-in user's passkeys. Adding one starts with options
 * asked for in a fresh session (the challenge is bound to that session); removing one also
 * needs a fresh sign-in. Listing takes an API key with `me:read`; every change takes a session.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";
import { registrationResponse, requestOrigin } from "./passkey_fields.ts";
import { passkeySchema } from "./response_schemas.ts";

// Control and format characters (newlines, bidi overrides) could disguise a name in lists and
// confirmation dialogs.
const name = z.string().trim().min(1, "is required").max(100)
  .regex(/^[^\p{Cc}\p{Cf}]*$/u, "must not contain control or formatting characters");
const idParam = z.object({ id: z.uuid("must be a passkey id") });
const registerBody = z.object({ name: name.default("Passkey"), response: registrationResponse });
const renameBody = z.object({ name }).strict();

/**
 * The context of a handler with the inputs `validate` checked, named by hand: wrapped in
 * documented(), the handler no longer gets them from Hono's inference.
 */
type IdParam = { param: typeof idParam };

const passkeyListSchema = z.object({ passkeys: z.array(passkeySchema) }).strict();
/** WebAuthn's PublicKeyCredentialCreationOptionsJSON, as @simplewebauthn/server writes it. */
const creationOptionsSchema = z.object({
  challenge: z.string(),
  rp: z.object({ name: z.string(), id: z.string() }).strict(),
  user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }).strict(),
  pubKeyCredParams: z.array(
    z.object({ alg: z.number().int(), type: z.literal("public-key") }).strict(),
  ),
  timeout: z.number().int(),
  attestation: z.enum(["none", "indirect", "direct", "enterprise"]),
  excludeCredentials: z.array(
    z.object({
      id: z.string(),
      type: z.literal("public-key"),
      transports: z.array(z.string()).optional(),
    }).strict(),
  ),
  authenticatorSelection: z.object({
    authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
    residentKey: z.enum(["discouraged", "preferred", "required"]),
    requireResidentKey: z.boolean(),
    userVerification: z.enum(["discouraged", "preferred", "required"]),
  }).strict(),
  extensions: z.record(z.string(), z.unknown()),
  hints: z.array(z.string()),
}).strict();
const tags = ["me"];

/** `/api/v1/me/passkeys`: options, register, list, rename, remove. */
export function mePasskeyRoutes(services: Services) {
  const { accounts, passkeys } = services;
  const session = authorize({ scope: "me:write", sessionOnly: true });
  const sessionStepUp = authorize({ scope: "me:write", sessionOnly: true, fresh: true });

  return new Hono<AppEnv>()
    .get(
      "/",
      authorize({ scope: "me:read" }),
      documented({
        summary: "The caller's passkeys, oldest first",
        tags,
        responses: { 200: { description: "The caller's passkeys", schema: passkeyListSchema } },
      }, async (c) => {
        return c.json({ passkeys: await passkeys.list(c.get("principal")!.userId) });
      }),
    )
    .post(
      "/options",
      sessionStepUp,
      documented({
        summary: "Options to create a passkey (WebAuthn registration, first step)",
        description: "For `navigator.credentials.create()` (or @simplewebauthn/browser's " +
          "`startRegistration`); the challenge is bound to this session.",
        tags,
        responses: {
          200: { description: "The registration options", schema: creationOptionsSchema },
        },
        errors: ["passkeys_unavailable", "passkey_limit_reached"],
      }, async (c) => {
        const principal = c.get("principal")!;
        const user = await accounts.current(principal.userId);
        return c.json(
          await passkeys.registrationOptions(user, principal.sessionId!, requestOrigin(c)),
        );
      }),
    )
    .post(
      "/",
      session,
      validate("json", registerBody),
      documented({
        summary: "Register a passkey (WebAuthn registration, second step)",
        description: "The authenticator's answer to the options this session asked for.",
        tags,
        responses: { 201: { description: "The new passkey", schema: passkeySchema } },
        errors: [
          "passkeys_unavailable",
          "passkey_registration_failed",
          "passkey_already_registered",
          "passkey_limit_reached",
        ],
      }, async (c: Validated<{ json: typeof registerBody }>) => {
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
      }),
    )
    .patch(
      "/:id",
      session,
      validate("param", idParam),
      validate("json", renameBody),
      documented({
        summary: "Rename one of the caller's passkeys",
        tags,
        responses: { 200: { description: "The renamed passkey", schema: passkeySchema } },
        errors: ["passkey_not_found"],
      }, async (c: Validated<IdParam & { json: typeof renameBody }>) => {
        const { id } = c.req.valid("param");
        const userId = c.get("principal")!.userId;
        return c.json(await passkeys.rename(userId, id, c.req.valid("json").name));
      }),
    )
    .delete(
      "/:id",
      sessionStepUp,
      validate("param", idParam),
      documented({
        summary: "Remove one of the caller's passkeys",
        description: "Every other session of the user ends. The account must keep a way to " +
          "sign in: removing the last passkey of an account with no password and no linked " +
          "identity is 409 `last_sign_in_method`.",
        tags,
        responses: { 204: { description: "The passkey is removed" } },
        errors: ["passkey_not_found", "last_sign_in_method"],
      }, async (c: Validated<IdParam>) => {
        const { id } = c.req.valid("param");
        const principal = c.get("principal")!;
        await passkeys.remove(principal.userId, id, auditContext(c), principal.sessionId);
        return c.body(null, 204);
      }),
    );
}
