/**
 * Access tokens: signing and verifying HS256 JWTs with keys imported once (and the previous
 * key during a rotation), with a cache of verified tokens.
 */
import { fromBase64Url, hex, importHmacKey, toBase64Url } from "../lib/crypto.ts";

/** Claims of a citadel access token. */
export interface AccessClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  role: string;
}

/** Options of {@linkcode createJwtService}. */
export interface JwtOptions {
  secret: string;
  /** Accepted for verification only, so the secret can rotate without logging everyone out. */
  previousSecret?: string;
  issuer: string;
  audience: string;
}

/** Signs and verifies HS256 access tokens with keys imported once. */
export interface JwtService {
  sign(claims: Omit<AccessClaims, "iss" | "aud">): Promise<string>;
  /** The claims of a valid token, or undefined for anything forged, expired or malformed. */
  verify(token: string, nowMs: number): Promise<AccessClaims | undefined>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Verified tokens remembered per process; the oldest goes first beyond this. */
const VERIFIED_LIMIT = 4096;

async function keyId(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`citadel-kid:${secret}`));
  return hex(digest).slice(0, 16);
}

function encodeJson(value: unknown): string {
  return toBase64Url(encoder.encode(JSON.stringify(value)));
}

interface VerificationKey {
  key: CryptoKey;
}

function isAccessClaims(value: unknown): value is AccessClaims {
  const c = value as Record<string, unknown>;
  return typeof c === "object" && c !== null && typeof c.sub === "string" &&
    typeof c.sid === "string" && typeof c.jti === "string" && typeof c.role === "string" &&
    typeof c.iss === "string" && typeof c.aud === "string" &&
    Number.isFinite(c.exp) && Number.isFinite(c.iat);
}

/**
 * Builds the JWT service. Verification pins everything: the header must be byte-for-byte
 * one this server issues (`{"alg":"HS256","typ":"JWT","kid":...}` for the current or the
 * previous key), so `alg: none`, other algorithms and unknown keys fail before any crypto.
 * `exp` is required; issuer and audience must match.
 *
 * A token that passed is remembered by its exact text until it expires, so a client
 * presenting the same token again costs a map lookup instead of an HMAC (an async
 * WebCrypto call, the most expensive step of an authenticated GET). Only verified
 * tokens are remembered, and only an identical string hits; the time checks still run
 * on every call. Revocation is not the JWT's business (see revocation_list.ts).
 */
export async function createJwtService(options: JwtOptions): Promise<JwtService> {
  const kid = await keyId(options.secret);
  const headers = new Map<string, VerificationKey>();
  const signingKey = await importHmacKey(options.secret);
  const signingHeader = encodeJson({ alg: "HS256", typ: "JWT", kid });
  headers.set(signingHeader, { key: signingKey });
  if (options.previousSecret) {
    const previousKid = await keyId(options.previousSecret);
    headers.set(encodeJson({ alg: "HS256", typ: "JWT", kid: previousKid }), {
      key: await importHmacKey(options.previousSecret),
    });
  }
  const { issuer, audience } = options;
  const verified = new Map<string, Readonly<AccessClaims>>();
  const inTime = (claims: AccessClaims, nowMs: number) => {
    const now = Math.floor(nowMs / 1000);
    return claims.exp > now && claims.iat <= now + 60;
  };

  return {
    async sign(claims) {
      const body = encodeJson({ iss: issuer, aud: audience, ...claims });
      const input = `${signingHeader}.${body}`;
      const signature = await crypto.subtle.sign("HMAC", signingKey, encoder.encode(input));
      return `${input}.${toBase64Url(new Uint8Array(signature))}`;
    },
    async verify(token, nowMs) {
      const known = verified.get(token);
      if (known !== undefined) {
        if (inTime(known, nowMs)) return known;
        verified.delete(token);
        return undefined;
      }
      if (token.length > 4096) return undefined;
      const firstDot = token.indexOf(".");
      const lastDot = token.lastIndexOf(".");
      if (firstDot <= 0 || lastDot === firstDot) return undefined;
      const verification = headers.get(token.slice(0, firstDot));
      if (!verification) return undefined;
      let signature: Uint8Array<ArrayBuffer>;
      let claims: unknown;
      try {
        signature = fromBase64Url(token.slice(lastDot + 1));
        const valid = await crypto.subtle.verify(
          "HMAC",
          verification.key,
          signature,
          encoder.encode(token.slice(0, lastDot)),
        );
        if (!valid) return undefined;
        claims = JSON.parse(decoder.decode(fromBase64Url(token.slice(firstDot + 1, lastDot))));
      } catch {
        return undefined;
      }
      if (!isAccessClaims(claims)) return undefined;
      if (claims.iss !== issuer || claims.aud !== audience) return undefined;
      if (!inTime(claims, nowMs)) return undefined;
      if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value!);
      verified.set(token, Object.freeze(claims));
      return claims;
    },
  };
}

/** The same service for synchronous construction: keys are imported on first use, once. */
export function lazyJwtService(options: JwtOptions): JwtService {
  const ready = createJwtService(options);
  return {
    sign: async (claims) => (await ready).sign(claims),
    verify: async (token, nowMs) => (await ready).verify(token, nowMs),
  };
}
