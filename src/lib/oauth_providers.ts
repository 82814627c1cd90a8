/**
 * The providers citadel can sign users in with: what one configured provider is, and the
 * presets (Google, GitHub, LinkedIn) whose issuer and scopes are known. Any other name is a
 * generic OpenID Connect provider found by discovery from its `OAUTH_<NAME>_ISSUER`.
 */

/** How a provider tells who the user is: an OpenID Connect ID token, or GitHub's API. */
export type OAuthProviderKind = "oidc" | "github";

/** One enabled provider, as configuration built it. */
export interface OAuthProviderConfig {
  /** Lower-case name from OAUTH_PROVIDERS; the path segment of its routes. */
  name: string;
  /** What buttons and lists show, e.g. `Google`. */
  displayName: string;
  kind: OAuthProviderKind;
  /** The OpenID Connect issuer (discovery at `/.well-known/openid-configuration`). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The scopes requested; `openid` always among them for OpenID Connect. */
  scopes: string[];
}

/** What a preset fixes; its variables may still override the issuer and scopes. */
export interface OAuthPreset {
  displayName: string;
  kind: OAuthProviderKind;
  issuer: string;
  scopes: string[];
}

/** The presets of OAUTH_PROVIDERS. */
export const OAUTH_PRESETS: Readonly<Record<string, OAuthPreset>> = {
  google: {
    displayName: "Google",
    kind: "oidc",
    issuer: "https://accounts.google.com",
    scopes: ["openid", "email", "profile"],
  },
  github: {
    displayName: "GitHub",
    kind: "github",
    issuer: "https://github.com",
    scopes: ["read:user", "user:email"],
  },
  linkedin: {
    displayName: "LinkedIn",
    kind: "oidc",
    issuer: "https://www.linkedin.com/oauth",
    scopes: ["openid", "email", "profile"],
  },
};

/** GitHub is OAuth 2.0 without OpenID Connect: fixed endpoints, and its API for the user. */
export const GITHUB_ENDPOINTS = {
  authorization: "https://github.com/login/oauth/authorize",
  token: "https://github.com/login/oauth/access_token",
  api: "https://api.github.com",
} as const;

/** A provider name: lower-case letters and digits, so its variables are OAUTH_<NAME>_*. */
export const PROVIDER_NAME = /^[a-z][a-z0-9]{0,31}$/;

/** The prefix of a provider's variables, e.g. `OAUTH_GOOGLE_`. */
export function providerVariablePrefix(name: string): string {
  return `OAUTH_${name.toUpperCase()}_`;
}

/** The display name of a generic provider: its name with a capital letter. */
export function genericDisplayName(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
