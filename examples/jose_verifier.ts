/**
 * An example verifier service, to copy into another team's API: it trusts a citadel access
 * token by checking it against citadel's published public keys only (`jose`, the JWKS URL),
 * so it holds no secret that could mint a token. Every request with `Authorization: Bearer
 * <token>` is answered 200 with the token's claims and key id, 401 when the token is not a
 * valid citadel access token for this audience, or 503 when the key set cannot be fetched.
 * Citadel must run with `JWT_ALGORITHM=EdDSA` or `ES256` (with HS256 its JWKS is empty).
 *
 * Configuration (environment): `JWKS_URL` (required, e.g.
 * `https://auth.example.com/.well-known/jwks.json`), `JWT_ISSUER` and `JWT_AUDIENCE` (the
 * values citadel signs with; defaults `citadel`, `citadel-api`), `HOST` and `PORT` (defaults
 * `0.0.0.0`, 8080), `JWKS_CACHE_MAX_AGE` and `JWKS_COOLDOWN` (seconds, defaults 300 and 30;
 * README, "Verifying citadel tokens in another service", says how they meet citadel's
 * `JWKS_PUBLISH_DELAY`).
 *
 *     JWKS_URL=https://auth.example.com/.well-known/jwks.json \
 *       deno run --allow-net --allow-env examples/jose_verifier.ts
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";

/** What a verifier pins: where the keys are, and whose tokens for whom it accepts. */
export interface VerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** How long fetched keys are used before the next request refetches them (ms). */
  cacheMaxAgeMs: number;
  /** After a fetch, how long a token with an unknown `kid` is refused without refetching (ms). */
  cooldownMs: number;
}

/** A verified token: its claims and the `kid` of the key that signed it. */
export interface Verified {
  claims: JWTPayload;
  kid: string | undefined;
}

/**
 * Asymmetric algorithms only, never HS256: the key set holds public keys, and pinning the list
 * is what stops a token that names another algorithm (algorithm confusion). Both of citadel's
 * are listed so a switch of `JWT_ALGORITHM` needs no change here.
 */
const ALGORITHMS = ["EdDSA", "ES256"];

/** Failures that are citadel's or the network's, not the token's: answered 503, not 401. */
const KEY_SET_UNAVAILABLE = new Set(["ERR_JOSE_GENERIC", "ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID"]);

/** Builds the verify function: one cached key set per process, shared by every request. */
export function createVerifier(options: VerifierOptions): (token: string) => Promise<Verified> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: 5_000,
  });
  return async (token) => {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ALGORITHMS,
      typ: "JWT",
      requiredClaims: ["sub", "exp"],
    });
    return { claims: payload, kid: protectedHeader.kid };
  };
}

/** Whether a verification failure means the key set could not be had (503), not a bad token. */
export function isKeySetUnavailable(error: unknown): boolean {
  return !(error instanceof errors.JOSEError) || KEY_SET_UNAVAILABLE.has(error.code);
}

/** The HTTP handler: 200 with the claims, 401 for a missing or invalid token, 503 above. */
export function verifierHandler(verify: (token: string) => Promise<Verified>) {
  return async (request: Request): Promise<Response> => {
    const token = /^Bearer (\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!token) return refuse(401, "missing_token");
    try {
      return Response.json(await verify(token));
    } catch (error) {
      if (isKeySetUnavailable(error)) {
        console.error(JSON.stringify({ msg: "key set unavailable", error: String(error) }));
        return refuse(503, "key_set_unavailable");
      }
      return refuse(401, "invalid_token");
    }
  };
}

function refuse(status: number, error: string): Response {
  const headers: Record<string, string> = {};
  if (status === 401) {
    headers["www-authenticate"] = error === "invalid_token" ? `Bearer error="${error}"` : "Bearer";
  }
  return Response.json({ error }, { status, headers });
}

function seconds(name: string, fallback: number): number {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be seconds`);
  return value * 1000;
}

if (import.meta.main) {
  const jwksUrl = Deno.env.get("JWKS_URL");
  if (!jwksUrl) {
    throw new Error("JWKS_URL is required, e.g. https://auth.example.com/.well-known/jwks.json");
  }
  const verify = createVerifier({
    jwksUrl,
    issuer: Deno.env.get("JWT_ISSUER") ?? "citadel",
    audience: Deno.env.get("JWT_AUDIENCE") ?? "citadel-api",
    cacheMaxAgeMs: seconds("JWKS_CACHE_MAX_AGE", 300),
    cooldownMs: seconds("JWKS_COOLDOWN", 30),
  });
  const server = Deno.serve({
    hostname: Deno.env.get("HOST") ?? "0.0.0.0",
    port: Number(Deno.env.get("PORT") ?? 8080),
    onListen: ({ port }) => console.log(JSON.stringify({ msg: "listening", port })),
  }, verifierHandler(verify));
  Deno.addSignalListener("SIGTERM", () => void server.shutdown());
}
