/**
 * Routes of `/api/v1/admin/keys`: the access-token signing keys, their rotation and
 * retirement. Super admins only: a signing key is the power to mint any token.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { requireSuperAdmin } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";
import { moment } from "./response_schemas.ts";

const rotateBody = z.object({ force: z.boolean().default(false) }).strict();
const kidParam = z.object({ kid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a key id") });

/** A key as services/signing_keys.ts `signingKeyView` shows it: no key material. */
const signingKeySchema = z.object({
  kid: z.string(),
  algorithm: z.enum(["HS256", "EdDSA", "ES256"]),
  state: z.enum(["next", "current", "previous", "retired"]),
  // Null for an HS256 secret: only the configuration knows when it was made.
  created_at: moment.nullable(),
  activated_at: moment.nullable(),
  expires_at: moment.nullable(),
  retired_at: moment.nullable(),
}).strict();
const keyListSchema = z.object({
  algorithm: z.enum(["HS256", "EdDSA", "ES256"]),
  keys: z.array(signingKeySchema),
}).strict();
/** services/key_admin.ts `RotationView`: a first rotation publishes, the next one promotes. */
const rotationSchema = z.union([
  z.object({ action: z.literal("published"), next: signingKeySchema }).strict(),
  z.object({
    action: z.literal("promoted"),
    current: signingKeySchema,
    previous: signingKeySchema.optional(),
    next: signingKeySchema,
  }).strict(),
]);
/** A handler's context with its validated inputs, which `documented()` hides from inference. */
// What answers before the route: ADMIN_ALLOWED_IPS hides the admin routes from elsewhere as an
// unknown route (404 not_found).
const BEFORE_ROUTE = ["not_found"];
const tags = ["admin"];
const HS256 = "With JWT_ALGORITHM=HS256 the key is JWT_SECRET_KEY, which only the " +
  "configuration rotates: 409 keys_in_configuration.";

/** `/api/v1/admin/keys`: list, rotate, retire (see services/key_admin.ts). */
export function adminKeyRoutes(services: Services) {
  const { keyAdmin } = services;
  return new Hono<AppEnv>()
    .get(
      "/",
      requireSuperAdmin("admin:read"),
      documented({
        summary: "List the access-token signing keys, newest first",
        description: "No key material. With HS256, the key ids of the current and previous " +
          "secrets.",
        tags,
        responses: { 200: { description: "The algorithm and its keys", schema: keyListSchema } },
        errors: BEFORE_ROUTE,
      }, async (c) => {
        return c.json({ algorithm: keyAdmin.algorithm, keys: await keyAdmin.list() });
      }),
    )
    .post(
      "/rotate",
      requireSuperAdmin("admin:write"),
      validate("json", rotateBody),
      documented({
        summary: "Rotate the signing key: publish a next key, or promote the published one",
        description: "A next key is published in the JWKS before it signs, so verifiers learn " +
          "it first; promoting it earlier than JWKS_PUBLISH_DELAY is 409 rotation_too_early " +
          `unless \`force\`. ${HS256}`,
        tags,
        responses: { 200: { description: "What the rotation did", schema: rotationSchema } },
        errors: [...BEFORE_ROUTE, "keys_in_configuration", "rotation_too_early"],
      }, async (c: Validated<{ json: typeof rotateBody }>) => {
        const { force } = c.req.valid("json");
        return c.json(await keyAdmin.rotate({ force }, auditContext(c)));
      }),
    )
    .post(
      "/:kid/retire",
      requireSuperAdmin("admin:write"),
      validate("param", kidParam),
      documented({
        summary: "Retire a signing key at once (a compromise)",
        description: "The key leaves the JWKS and stops verifying; retiring the current key " +
          `promotes the next one or creates a new one. ${HS256}`,
        tags,
        responses: {
          200: {
            description: "The retired key",
            schema: z.object({ key: signingKeySchema }).strict(),
          },
        },
        errors: [...BEFORE_ROUTE, "key_not_found", "keys_in_configuration"],
      }, async (c: Validated<{ param: typeof kidParam }>) => {
        const key = await keyAdmin.retire(c.req.valid("param").kid, auditContext(c));
        return c.json({ key });
      }),
    );
}
