/**
 * The WebAuthn relying party: the RP ID every passkey is scoped to and the origins a ceremony
 * may come from. Configured by WEBAUTHN_RP_ID (default: PUBLIC_URL's host), WEBAUTHN_ORIGINS
 * and PUBLIC_URL. Without them, outside production, the origin the request reached citadel at
 * stands in (a developer's `http://localhost:8000`); in production passkeys are then off.
 */

/** Who passkeys are registered with, and where a ceremony may run. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

/** The settings {@linkcode relyingPartyResolver} reads; `Config` fits through its mapping. */
export interface RelyingPartySettings {
  rpId?: string;
  rpName: string;
  /** WEBAUTHN_ORIGINS. */
  origins: string[];
  /** PUBLIC_URL. */
  publicUrl?: string;
  /** Outside production: fall back to the request's own origin. */
  fromRequest: boolean;
}

/**
 * The relying party for a request that reached citadel at `requestOrigin`, or undefined when
 * none is configured and the fallback is not allowed.
 */
export function relyingPartyResolver(
  settings: RelyingPartySettings,
): (requestOrigin: string) => RelyingParty | undefined {
  const publicOrigin = settings.publicUrl ? new URL(settings.publicUrl).origin : undefined;
  const origins = [...new Set([publicOrigin, ...settings.origins].filter((o) => o !== undefined))];
  const rpId = settings.rpId ?? (publicOrigin ? new URL(publicOrigin).hostname : undefined);
  const configured: RelyingParty | undefined = rpId && origins.length > 0
    ? { id: rpId, name: settings.rpName, origins }
    : undefined;
  return (requestOrigin) => {
    if (configured) return configured;
    if (!settings.fromRequest) return undefined;
    return { id: new URL(requestOrigin).hostname, name: settings.rpName, origins: [requestOrigin] };
  };
}
