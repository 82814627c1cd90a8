/**
 * The protocol side of one provider, through oauth4webapi: discovery (cached), the
 * authorization URL with `state`, PKCE (S256) and `nonce`, and the callback: the authorization
 * response checked against the expected `state`, the code exchanged with the PKCE verifier, the
 * ID token's `iss`, `aud`, `exp`, `nonce` checked by the library and its signature verified
 * against the provider's JWKS. GitHub, which has no ID token, is asked for the user and the
 * primary verified email through its API.
 */
import * as oauth from "oauth4webapi";
import { GITHUB_ENDPOINTS, type OAuthProviderConfig } from "../lib/oauth_providers.ts";

/** Who the provider says signed in. */
export interface ProviderIdentity {
  /** The provider's stable id of the user (`sub`, or GitHub's numeric id). */
  subject: string;
  email?: string;
  /** True only when the provider asserted that it verified `email`. */
  emailVerified: boolean;
  name?: string;
  /** The provider's tokens, kept only with OAUTH_STORE_TOKENS=true. */
  tokens: { access_token: string; refresh_token?: string; expires_at?: number };
}

/** What one sign-in sends and later checks, generated at its start. */
export interface FlowSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** This provider's callback URL at citadel, registered with the provider. */
  redirectUri: string;
  /**
   * `max_age` asked of the provider (0: sign the user in again, with `prompt=login`), then
   * checked against the ID token's `auth_time`; OpenID Connect providers only.
   */
  maxAge?: number;
}

/** Why a callback failed: `error` is what the app is told, `reason` what the audit keeps. */
export class OAuthFailure extends Error {
  constructor(readonly error: string, readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = "OAuthFailure";
  }
}

/** The OAuth errors a provider's redirect may carry that are passed on to the app as they are. */
const PASSED_ON = new Set(["access_denied", "temporarily_unavailable", "login_required"]);

/** How long any request to a provider may take. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** The client of one provider; discovery runs on first use and is kept once it succeeded. */
export function createOAuthClient(provider: OAuthProviderConfig) {
  const issuer = new URL(provider.issuer);
  const insecure = issuer.protocol === "http:";
  const http = {
    signal: () => AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    [oauth.allowInsecureRequests]: insecure,
  };
  const client: oauth.Client = { client_id: provider.clientId };
  /**
   * HTTP Basic at the token endpoint, unless the provider offers only the form post (LinkedIn
   * does) or is GitHub, whose documentation sends the secret in the form.
   */
  const clientAuth = (as: oauth.AuthorizationServer) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const postOnly = Array.isArray(methods) && !methods.includes("client_secret_basic") &&
      methods.includes("client_secret_post");
    return provider.kind === "github" || postOnly
      ? oauth.ClientSecretPost(provider.clientSecret)
      : oauth.ClientSecretBasic(provider.clientSecret);
  };
  const jwks = {};
  let discovered: Promise<oauth.AuthorizationServer> | undefined;

  const server = (): Promise<oauth.AuthorizationServer> => {
    if (provider.kind === "github") {
      return Promise.resolve({
        issuer: provider.issuer,
        authorization_endpoint: GITHUB_ENDPOINTS.authorization,
        token_endpoint: GITHUB_ENDPOINTS.token,
      });
    }
    discovered ??= (async () => {
      const response = await oauth.discoveryRequest(issuer, { ...http, algorithm: "oidc" });
      return await oauth.processDiscoveryResponse(issuer, response);
    })();
    // A failed discovery is tried again by the next sign-in, not remembered.
    discovered.catch(() => discovered = undefined);
    return discovered;
  };

  /** Fresh secrets for one sign-in. */
  function newFlow(redirectUri: string, maxAge?: number): FlowSecrets {
    return {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier: oauth.generateRandomCodeVerifier(),
      redirectUri,
      ...(maxAge !== undefined && provider.kind === "oidc" ? { maxAge } : {}),
    };
  }

  /** The provider's authorization URL for a flow; rejects when discovery fails. */
  async function authorizationUrl(flow: FlowSecrets): Promise<URL> {
    const as = await server();
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set("client_id", provider.clientId);
    url.searchParams.set("redirect_uri", flow.redirectUri);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("scope", provider.scopes.join(" "));
    url.searchParams.set("state", flow.state);
    url.searchParams.set(
      "code_challenge",
      await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
    );
    url.searchParams.set("code_challenge_method", "S256");
    if (provider.kind === "oidc") url.searchParams.set("nonce", flow.nonce);
    if (flow.maxAge !== undefined) {
      url.searchParams.set("max_age", String(flow.maxAge));
      if (flow.maxAge === 0) url.searchParams.set("prompt", "login");
    }
    return url;
  }

  /**
   * The callback: checks the response against the flow's `state`, exchanges the code and
   * proves who signed in. Throws {@linkcode OAuthFailure} for anything the provider or an
   * attacker got wrong.
   */
  async function identify(callback: URL, flow: FlowSecrets): Promise<ProviderIdentity> {
    const as = await server().catch((cause) => {
      throw new OAuthFailure("provider_error", "discovery_failed", { cause });
    });
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, client, callback.searchParams, flow.state);
    } catch (cause) {
      if (cause instanceof oauth.AuthorizationResponseError) {
        const error = PASSED_ON.has(cause.error) ? cause.error : "provider_error";
        throw new OAuthFailure(error, `provider_error:${cause.error.slice(0, 64)}`, { cause });
      }
      throw new OAuthFailure("provider_error", "invalid_authorization_response", { cause });
    }
    let response: Response;
    let tokens: oauth.TokenEndpointResponse;
    try {
      response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth(as),
        params,
        flow.redirectUri,
        flow.codeVerifier,
        http,
      );
      tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: provider.kind === "oidc" ? flow.nonce : oauth.expectNoNonce,
        requireIdToken: provider.kind === "oidc",
        ...(flow.maxAge !== undefined ? { maxAge: flow.maxAge } : {}),
      });
    } catch (cause) {
      throw new OAuthFailure("provider_error", tokenFailure(cause), { cause });
    }
    const kept = {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      expires_at: tokens.expires_in ? Date.now() + tokens.expires_in * 1000 : undefined,
    };
    if (provider.kind === "github") {
      try {
        return { ...await githubUser(tokens.access_token), tokens: kept };
      } catch (cause) {
        // A network failure or an unreadable answer is the provider's error, not ours.
        if (cause instanceof OAuthFailure) throw cause;
        throw new OAuthFailure("provider_error", "github_api_failed", { cause });
      }
    }
    try {
      await oauth.validateApplicationLevelSignature(as, response, {
        ...http,
        [oauth.jwksCache]: jwks,
      });
    } catch (cause) {
      throw new OAuthFailure("provider_error", "id_token_signature", { cause });
    }
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    let email = stringClaim(claims.email);
    let verified = claims.email_verified === true || claims.email_verified === "true";
    let name = stringClaim(claims.name);
    // Some providers put the profile only in userinfo; it must be about the same subject.
    if (email === undefined && as.userinfo_endpoint) {
      try {
        const info = await oauth.processUserInfoResponse(
          as,
          client,
          claims.sub,
          await oauth.userInfoRequest(as, client, tokens.access_token, http),
        );
        email = stringClaim(info.email);
        verified = info.email_verified === true || (info.email_verified as unknown) === "true";
        name ??= stringClaim(info.name);
      } catch (cause) {
        throw new OAuthFailure("provider_error", "userinfo_failed", { cause });
      }
    }
    return { subject: claims.sub, email, emailVerified: verified, name, tokens: kept };
  }

  /** GitHub's user id, name and primary verified email, from its API. */
  async function githubUser(accessToken: string): Promise<Omit<ProviderIdentity, "tokens">> {
    const get = async (path: string) => {
      const response = await fetch(GITHUB_ENDPOINTS.api + path, {
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: "application/vnd.github+json",
          "user-agent": "citadel",
        },
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
      if (!response.ok) throw new OAuthFailure("provider_error", `github_api_${response.status}`);
      return await response.json();
    };
    const user = await get("/user");
    const emails: { email: string; primary: boolean; verified: boolean }[] = await get(
      "/user/emails",
    );
    const primary = Array.isArray(emails)
      ? emails.find((e) => typeof e === "object" && e !== null && e.primary === true)
      : undefined;
    if (typeof user?.id !== "number") throw new OAuthFailure("provider_error", "github_no_user");
    return {
      subject: String(user.id),
      email: stringClaim(primary?.email),
      emailVerified: primary?.verified === true,
      name: stringClaim(user.name) ?? stringClaim(user.login),
    };
  }

  return { newFlow, authorizationUrl, identify };
}

/** The client of one provider. */
export type OAuthClient = ReturnType<typeof createOAuthClient>;

function stringClaim(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 320 ? value : undefined;
}

/** The audit reason of a failed exchange: which check refused the token response. */
function tokenFailure(cause: unknown): string {
  if (cause instanceof oauth.ResponseBodyError) return `token_error:${cause.error.slice(0, 64)}`;
  if (cause instanceof oauth.OperationProcessingError) {
    // The library names the claim in its cause, or in quotes in the message ("iss"): a bare
    // "iss" would also match "missing".
    const claim = (cause.cause as { claim?: unknown } | undefined)?.claim;
    const text = typeof claim === "string" ? `"${claim}"` : cause.message;
    if (text.includes('"nonce"')) return "id_token_nonce";
    if (text.includes('"auth_time"')) return "id_token_auth_time";
    if (text.includes('"iss"')) return "id_token_issuer";
    if (text.includes('"aud"')) return "id_token_audience";
    if (text.includes('"exp"') || text.includes("timestamp")) return "id_token_expired";
    return "invalid_token_response";
  }
  return "token_request_failed";
}
