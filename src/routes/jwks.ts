/**
 * The route of `GET /.well-known/jwks.json`: the public keys other services verify citadel's
 * access tokens with.
 */
import { type Context, Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import type { KeyRing } from "../services/key_ring.ts";

/** A public signing key as lib/signing_algorithms.ts `PublicJwk` publishes it. */
const publicJwk = z.object({
  kty: z.enum(["OKP", "EC"]),
  crv: z.enum(["Ed25519", "P-256"]),
  x: z.string(),
  y: z.string().optional(),
  kid: z.string(),
  alg: z.enum(["EdDSA", "ES256"]),
  use: z.literal("sig"),
}).strict();
const jwks = z.object({ keys: z.array(publicJwk) }).strict();

/**
 * `GET /.well-known/jwks.json`: the public JWK of every key that verifies now or soon (next,
 * current, unexpired previous keys), cacheable for at most five minutes. With HS256 there
 * is no public key to publish: `{"keys": []}`.
 */
export function jwksRoutes(keyRing: KeyRing | undefined) {
  return new Hono<AppEnv>().get(
    "/.well-known/jwks.json",
    documented({
      summary: "The public keys that verify citadel's access tokens (RFC 7517 JWK Set)",
      description: "Every key that verifies now or soon (next, current, unexpired previous), " +
        "cacheable for at most five minutes; empty with JWT_ALGORITHM=HS256.",
      tags: ["service"],
      responses: { 200: { description: "The JWK Set", schema: jwks } },
    }, async (c: Context<AppEnv>) => {
      const keys = keyRing ? await keyRing.jwks() : [];
      c.set("publicCache", true);
      return c.json({ keys });
    }),
  );
}
