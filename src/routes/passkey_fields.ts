/**
 * What the passkey routes share: the shapes of a WebAuthn response (as @simplewebauthn/browser
 * sends it) checked before the library reads it, and the origin a request reached citadel at.
 */
import type { Context } from "hono";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";

const base64url = (max: number) =>
  z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
const credentialId = base64url(1366);
const extensions = z.record(z.string().max(64), z.unknown()).optional();
const attachment = z.enum(["platform", "cross-platform"]).optional();

/**
 * A `PublicKeyCredential` as JSON: the fields both ceremonies share around the ceremony's own
 * `response`, with `id` and `rawId` equal and the extension results defaulted.
 */
function publicKeyCredential<T>(response: z.ZodType) {
  return z.looseObject({
    id: credentialId,
    rawId: credentialId,
    type: z.literal("public-key"),
    authenticatorAttachment: attachment,
    clientExtensionResults: extensions,
    response,
  }).refine((r) => r.id === r.rawId, { message: "id and rawId must be equal", path: ["rawId"] })
    .transform((r) => ({ ...r, clientExtensionResults: r.clientExtensionResults ?? {} }) as T);
}

/** `startRegistration()`'s answer. */
export const registrationResponse = publicKeyCredential<RegistrationResponseJSON>(
  z.looseObject({
    clientDataJSON: base64url(8192),
    attestationObject: base64url(65536),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
);

/** `startAuthentication()`'s answer. */
export const authenticationResponse = publicKeyCredential<AuthenticationResponseJSON>(
  z.looseObject({
    clientDataJSON: base64url(8192),
    authenticatorData: base64url(8192),
    // Post-quantum ML-DSA signatures (offered by the library, chosen by Chromium) run to 6 KB.
    signature: base64url(8192),
    userHandle: base64url(256).optional(),
  }),
);

/**
 * The origin the request reached citadel at: the relying party's stand-in when PUBLIC_URL and
 * WEBAUTHN_* are unset outside production.
 */
export function requestOrigin(c: Context<AppEnv>): string {
  return new URL(c.req.url).origin;
}
