/**
 * Access tokens: signing and verifying JWTs with the keys of a key source (HS256 secrets, or
 * the EdDSA/ES256 key ring), with a cache of verified tokens.
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
  /** RFC 8176 authentication methods (`pwd`, `otp`, `rc`); absent in tokens before 0008. */
  amr?: string[];
  /** When the user last proved who they are, epoch seconds; absent before 0008. */
  auth_time?: number;
}

/** A key that verifies tokens whose header is exactly the one it is filed under. */
export interface VerificationKey {
  key: CryptoKey;
  params: AlgorithmIdentifier | EcdsaParams;
}

/**
 * The keys a {@linkcode JwtService} uses at one moment: the signing key with its exact
 * header text, and every verifying key by the exact header text its tokens carry.
 */
export interface KeySet {
  /**
   * Grows whenever the keys change, so tokens verified under a retired key are forgotten (and
   * a verification that straddled the change is not remembered).
   */
  version: number;
  signer: { header: string; key: CryptoKey; params: AlgorithmIdentifier | EcdsaParams };
  verifiers: ReadonlyMap<string, VerificationKey>;
}

/** Where the JWT service gets its keys: fixed (HS256) or a ring kept fresh (key_ring.ts). */
export interface KeySource {
  /** The keys, fresh within the source's staleness bound; may read the database. */
  current(): KeySet | Promise<KeySet>;
  /**
   * The keys to sign with, without waiting for the database once they are loaded: tokens
   * are signed inside transactions, which hold the database's one local connection.
   */
  forSigning(): KeySet | Promise<KeySet>;
}

/** Options of {@linkcode createJwtService}. */
export interface JwtOptions {
  keys: KeySource;
  issuer: string;
  audience: string;
}

/** Signs and verifies access tokens with the keys of a {@linkcode KeySource}. */
export interface JwtService {
  /** Brings the keys up to date; call it before a transaction that signs. */
  prepare(): Promise<void>;
  sign(claims: Omit<AccessClaims, "iss" | "aud">): Promise<string>;
  /** The claims of a valid token, or undefined for anything forged, expired or malformed. */
  verify(token: string, nowMs: number): Promise<AccessClaims | undefined>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Verified tokens remembered per process; the oldest goes first beyond this. */
const VERIFIED_LIMIT = 4096;

/** The kid of an HS256 secret: a hash of it, so the secret itself is never revealed. */
export async function hs256KeyId(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`citadel-kid:${secret}`));
  return hex(digest).slice(0, 16);
}

/** The exact header text of citadel's tokens signed by `kid` with `alg`. */
export function headerOf(alg: string, kid: string): string {
  return toBase64Url(encoder.encode(JSON.stringify({ alg, typ: "JWT", kid })));
}

const HMAC = { name: "HMAC" };

/**
 * The fixed key set of HS256: JWT_SECRET_KEY signs and verifies, JWT_SECRET_KEY_PREVIOUS
 * only verifies, so the secret can rotate without logging everyone out.
 */
export async function hs256KeySet(secret: string, previousSecret?: string): Promise<KeySet> {
  const key = await importHmacKey(secret);
  const header = headerOf("HS256", await hs256KeyId(secret));
  const verifiers = new Map<string, VerificationKey>([[header, { key, params: HMAC }]]);
  if (previousSecret) {
    verifiers.set(headerOf("HS256", await hs256KeyId(previousSecret)), {
      key: await importHmacKey(previousSecret),
      params: HMAC,
    });
  }
  return { version: 0, signer: { header, key, params: HMAC }, verifiers };
}

function isAccessClaims(value: unknown): value is AccessClaims {
  const c = value as Record<string, unknown>;
  return typeof c === "object" && c !== null && typeof c.sub === "string" &&
    typeof c.sid === "string" && typeof c.jti === "string" && typeof c.role === "string" &&
    typeof c.iss === "string" && typeof c.aud === "string" &&
    Number.isFinite(c.exp) && Number.isFinite(c.iat) &&
    (c.amr === undefined ||
      (Array.isArray(c.amr) && c.amr.every((m) => typeof m === "string"))) &&
    (c.auth_time === undefined || Number.isFinite(c.auth_time));
}

/**
 * Builds the JWT service. Verification pins everything: the header must be byte-for-byte
 * one this server issues (`{"alg":<configured>,"typ":"JWT","kid":...}` for a key of the
 * set), so `alg: none`, any other algorithm (an HS256 token in EdDSA mode, even one
 * "signed" with the public key's bytes) and unknown keys fail before any crypto.
 * `exp` is required; issuer and audience must match.
 *
 * A token that passed is remembered by its exact text until it expires, so a client
 * presenting the same token again costs a map lookup instead of a signature check (an
 * async WebCrypto call, the most expensive step of an authenticated GET). Only verified
 * tokens are remembered, only an identical string hits, and the memory is dropped when
 * the key set changes (a retired key); the time checks still run on every call.
 * Revocation is not the JWT's business (see revocation_list.ts).
 */
export function createJwtService(options: JwtOptions): JwtService {
  const { issuer, audience, keys } = options;
  const verified = new Map<string, Readonly<AccessClaims>>();
  let seenVersion = -1;
  const inTime = (claims: AccessClaims, nowMs: number) => {
    const now = Math.floor(nowMs / 1000);
    return claims.exp > now && claims.iat <= now + 60;
  };

  return {
    async prepare() {
      await keys.current();
    },
    async sign(claims) {
      const { signer } = await keys.forSigning();
      const body = toBase64Url(
        encoder.encode(JSON.stringify({ iss: issuer, aud: audience, ...claims })),
      );
      const input = `${signer.header}.${body}`;
      const signature = await crypto.subtle.sign(signer.params, signer.key, encoder.encode(input));
      return `${input}.${toBase64Url(new Uint8Array(signature))}`;
    },
    async verify(token, nowMs) {
      // Awaited only when the source must read the database: a fresh set costs no microtask.
      const current = keys.current();
      const set = current instanceof Promise ? await current : current;
      if (set.version > seenVersion) {
        // A key was retired or added: forget what was verified under the old set.
        verified.clear();
        seenVersion = set.version;
      }
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
      const verification = set.verifiers.get(token.slice(0, firstDot));
      if (!verification) return undefined;
      let signature: Uint8Array<ArrayBuffer>;
      let claims: unknown;
      try {
        signature = fromBase64Url(token.slice(lastDot + 1));
        const valid = await crypto.subtle.verify(
          verification.params,
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
      // Remembered only if the keys did not change while the signature was checked: a token
      // verified under a set that has since lost its key must not outlive the retirement.
      if (set.version === seenVersion) {
        if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value!);
        verified.set(token, Object.freeze(claims));
      }
      return claims;
    },
  };
}
