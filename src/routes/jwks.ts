/**
 * The route of `GET /.well-known/jwks.json`: the public keys other services verify citadel's
 * access tokens with.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { KeyRing } from "../services/key_ring.ts";

/**
 * `GET /.well-known/jwks.json`: the public JWK of every key that verifies now or soon (next,
 * current, unexpired previous keys), cacheable for at most five minutes. With HS256 there
 * is no public key to publish: `{"keys": []}`.
 */
export function jwksRoutes(keyRing: KeyRing | undefined) {
  return new Hono<AppEnv>().get("/.well-known/jwks.json", async (c) => {
    const keys = keyRing ? await keyRing.jwks() : [];
    c.set("publicCache", true);
    return c.json({ keys });
  });
}
