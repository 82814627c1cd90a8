/**
 * Routes of `/api/v1/admin/keys`: the access-token signing keys, their rotation and
 * retirement. Super admins only: a signing key is the power to mint any token.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { requireSuperAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";

const rotateBody = z.object({ force: z.boolean().default(false) }).strict();
const kidParam = z.object({ kid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a key id") });

/** `/api/v1/admin/keys`: list, rotate, retire (see services/key_admin.ts). */
export function adminKeyRoutes(services: Services) {
  const { keyAdmin } = services;
  return new Hono<AppEnv>()
    .get("/", requireSuperAdmin("admin:read"), async (c) => {
      return c.json({ algorithm: keyAdmin.algorithm, keys: await keyAdmin.list() });
    })
    .post(
      "/rotate",
      requireSuperAdmin("admin:write"),
      validate("json", rotateBody),
      async (c) => {
        const { force } = c.req.valid("json");
        return c.json(await keyAdmin.rotate({ force }, auditContext(c)));
      },
    )
    .post(
      "/:kid/retire",
      requireSuperAdmin("admin:write"),
      validate("param", kidParam),
      async (c) => {
        const key = await keyAdmin.retire(c.req.valid("param").kid, auditContext(c));
        return c.json({ key });
      },
    );
}
