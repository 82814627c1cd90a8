/**
 * A sign-in with a provider, from its start to the one-time code handed back to the app.
 * `start` checks `redirect_to` against the exact list, stores the flow by the keyed hash of its
 * `state`, bound to the browser's flow cookie, and answers the provider's URL. `callback` claims
 * the flow (single use, ten minutes, same browser), lets the provider's client prove who signed
 * in, and decides: a linked identity gets a login code, a verified email of an existing verified
 * account gets `link_required` with a link code, anything else that matches an account is
 * refused, and a new person gets a code an account is created from at the exchange.
 */
import type { Db } from "../db/schema.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { problem } from "../errors.ts";
import { constantTimeEqual, hex, hmac, randomToken } from "../lib/crypto.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";
import type { OAuthProviderConfig } from "../lib/oauth_providers.ts";
import type { Clock } from "../platform/clock.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import {
  createOAuthClient,
  type OAuthClient,
  OAuthFailure,
  type ProviderIdentity,
} from "./oauth_client.ts";
import type { Pepper } from "./pepper.ts";

/** A flow lives ten minutes. */
export const OAUTH_FLOW_TTL_MS = 10 * 60_000;
/** A login code is exchanged within a minute. */
export const OAUTH_LOGIN_CODE_TTL_MS = 60_000;
/** A link code waits ten minutes for its user to sign in. */
export const OAUTH_LINK_CODE_TTL_MS = 10 * 60_000;

/**
 * The flow cookie that binds a flow (and its codes) to the browser that started it: `__Host-`
 * pins it to this host; SameSite=Lax, because the provider sends the browser back with a
 * top-level cross-site navigation.
 */
export const OAUTH_FLOW_COOKIE = "__Host-citadel_oauth";

/**
 * The console's own return page (`/account/sign-in/oauth` on this server): a sign-in the
 * console starts comes back there, so it is accepted besides OAUTH_REDIRECT_URLS.
 */
export const CONSOLE_OAUTH_RETURN_PATH = "/account/sign-in/oauth";

/** What {@linkcode createOAuthFlows} needs. */
export interface OAuthFlowsDeps {
  db: Db;
  clock: Clock;
  pepper: Pepper;
  audit: Audit;
  cipher: () => Promise<FieldCipher>;
  providers: readonly OAuthProviderConfig[];
  /** OAUTH_REDIRECT_URLS: `redirect_to` must be one of them, character for character. */
  redirectUrls: readonly string[];
  /** OAUTH_STORE_TOKENS: keep the provider's tokens, encrypted. */
  storeTokens: boolean;
  /** Builds a provider's client; the tests' provider runs on loopback. */
  client?: (provider: OAuthProviderConfig) => OAuthClient;
}

/** The keyed hash a flow, code or browser cookie is stored under. */
export async function oauthHash(pepper: Pepper, purpose: string, value: string): Promise<string> {
  return hex(await hmac(await pepper.key, `oauth-${purpose}:${value}`));
}

/** The encryption context of a code's provider tokens. */
export const CODE_TOKENS_FIELD = { table: "oauth_codes", column: "tokens" } as const;

/** Social sign-in flows: one per app. */
export function createOAuthFlows(deps: OAuthFlowsDeps) {
  const { db, clock, pepper } = deps;
  const clients = new Map<string, OAuthClient>();
  const providerNamed = (name: string) => {
    const provider = deps.providers.find((p) => p.name === name);
    if (!provider) throw problem("not_found", { detail: `No sign-in provider is named ${name}` });
    let client = clients.get(name);
    if (!client) {
      client = (deps.client ?? createOAuthClient)(provider);
      clients.set(name, client);
    }
    return { provider, client };
  };

  const failed = (actor: AuditActor, provider: string, reason: string, stage: string) =>
    deps.audit(db, {
      ...actor,
      action: "oauth.failed",
      outcome: "failure",
      details: { provider, reason, stage },
    });

  /**
   * A one-time code of `kind` for an identity, stored by its keyed hash and bound to the
   * browser of its flow.
   */
  async function issueCode(
    kind: "login" | "link",
    flow: { provider: string; browserHash: string; appChallenge: string | null },
    identity: ProviderIdentity,
    userId: string | null,
  ): Promise<string> {
    const { provider } = flow;
    const code = randomToken(32);
    const codeHash = await oauthHash(pepper, "code", code);
    const now = clock.now();
    const tokens = deps.storeTokens
      ? await (await deps.cipher()).encrypt(JSON.stringify(identity.tokens), {
        ...CODE_TOKENS_FIELD,
        rowId: codeHash,
      })
      : null;
    await db.insertInto("oauth_codes").values({
      code_hash: codeHash,
      kind,
      provider,
      subject: identity.subject,
      email: identity.email ?? null,
      email_verified: identity.emailVerified ? 1 : 0,
      name: identity.name?.slice(0, 200) ?? null,
      user_id: userId,
      tokens,
      browser_hash: flow.browserHash,
      app_challenge: flow.appChallenge,
      created_at: now,
      expires_at: now + (kind === "login" ? OAUTH_LOGIN_CODE_TTL_MS : OAUTH_LINK_CODE_TTL_MS),
    }).execute();
    return code;
  }

  /** Where the browser goes next: `redirect_to` with the outcome in the fragment. */
  const back = (redirectTo: string, fields: Record<string, string>) =>
    `${redirectTo}#${new URLSearchParams(fields)}`;

  /** Decides what a proven identity gets; see the module's description. */
  async function resolve(
    flow: {
      provider: string;
      browserHash: string;
      appChallenge: string | null;
      redirectTo: string;
    },
    identity: ProviderIdentity,
    actor: AuditActor,
  ): Promise<string> {
    const { provider, redirectTo } = flow;
    const linked = await db.selectFrom("oauth_identities").select("user_id")
      .where("provider", "=", provider).where("subject", "=", identity.subject)
      .executeTakeFirst();
    if (linked) {
      return back(redirectTo, {
        code: await issueCode("login", flow, identity, linked.user_id),
      });
    }
    if (!identity.email) {
      await failed(actor, provider, "email_required", "callback");
      return back(redirectTo, { error: "email_required" });
    }
    const owner = await db.selectFrom("users").select(["id", "email_verified_at"])
      .where("email", "=", normalizeEmail(identity.email)).executeTakeFirst();
    if (!owner) {
      return back(redirectTo, { code: await issueCode("login", flow, identity, null) });
    }
    if (identity.emailVerified && owner.email_verified_at !== null) {
      // Never linked silently: the account's user must sign in and present this code.
      const linkCode = await issueCode("link", flow, identity, owner.id);
      return back(redirectTo, { error: "link_required", link_code: linkCode });
    }
    // An unverified claim, or an account whose own address was never proven: no link, no
    // second account for the same address.
    const reason = identity.emailVerified
      ? "account_email_unverified"
      : "provider_email_unverified";
    await failed(actor, provider, reason, "callback");
    return back(redirectTo, { error: "account_exists" });
  }

  return {
    /** The enabled providers, for buttons. */
    list(): { name: string; display_name: string }[] {
      return deps.providers.map((p) => ({ name: p.name, display_name: p.displayName }));
    },

    /**
     * Starts a sign-in: answers the provider's authorization URL and the browser secret of the
     * flow cookie (the one the browser already has, when it is well formed). `redirectTo` must
     * be an entry of OAUTH_REDIRECT_URLS or `consoleReturnUrl` (the console's return page on
     * this server, when the console is on), character for character.
     */
    async start(
      name: string,
      input: {
        redirectTo: string;
        browserSecret?: string;
        callbackUrl: string;
        consoleReturnUrl?: string;
        /** The app's own PKCE challenge (S256 of its verifier), bound to the code. */
        appChallenge?: string;
        /** `prompt=login`: the provider signs the user in again (a step-up). */
        reauthenticate?: boolean;
      },
    ): Promise<{ location: string; browserSecret: string }> {
      const { client } = providerNamed(name);
      const allowed = deps.redirectUrls.includes(input.redirectTo) ||
        (input.consoleReturnUrl !== undefined && input.redirectTo === input.consoleReturnUrl);
      if (!allowed) {
        throw problem("invalid_redirect", {
          detail: "redirect_to must be exactly one of the URLs in OAUTH_REDIRECT_URLS",
        });
      }
      const browserSecret = input.browserSecret && /^[\w-]{43}$/.test(input.browserSecret)
        ? input.browserSecret
        : randomToken(32);
      const flow = client.newFlow(input.callbackUrl, input.reauthenticate ? 0 : undefined);
      let location: URL;
      try {
        location = await client.authorizationUrl(flow);
      } catch (cause) {
        throw problem("provider_unavailable", {
          detail: `The provider ${name} could not be reached; try again later`,
          cause,
        });
      }
      const now = clock.now();
      await db.insertInto("oauth_flows").values({
        state_hash: await oauthHash(pepper, "state", flow.state),
        browser_hash: await oauthHash(pepper, "browser", browserSecret),
        provider: name,
        code_verifier: flow.codeVerifier,
        nonce: flow.nonce,
        redirect_to: input.redirectTo,
        app_challenge: input.appChallenge ?? null,
        max_age: flow.maxAge ?? null,
        created_at: now,
        expires_at: now + OAUTH_FLOW_TTL_MS,
      }).execute();
      return { location: location.href, browserSecret };
    },

    /**
     * The provider sent the browser back. A missing, unknown, used, expired or foreign `state`
     * is 400 `invalid_state` (there is no trusted place to send the browser); everything else
     * ends in a redirect to the flow's `redirect_to`.
     */
    async callback(
      name: string,
      input: { url: URL; browserSecret?: string; callbackUrl: string },
      actor: AuditActor,
    ): Promise<string> {
      const { client } = providerNamed(name);
      const state = input.url.searchParams.get("state");
      const refuse = async (reason: string): Promise<never> => {
        await failed(actor, name, reason, "state");
        throw problem("invalid_state", {
          detail: "This sign-in is unknown, expired, already used or was started in another " +
            "browser; start it again",
        });
      };
      if (!state || state.length > 512) return await refuse("missing_state");
      const stateHash = await oauthHash(pepper, "state", state);
      const flow = await db.selectFrom("oauth_flows").selectAll()
        .where("state_hash", "=", stateHash).executeTakeFirst();
      if (!flow) return await refuse("unknown_state");
      // Claimed before anything is checked: a state is spent by its first use, even a failed one.
      const claimed = await db.deleteFrom("oauth_flows").where("state_hash", "=", stateHash)
        .executeTakeFirst();
      if (claimed.numDeletedRows !== 1n) return await refuse("replayed_state");
      if (flow.expires_at <= clock.now()) return await refuse("expired_state");
      if (flow.provider !== name) return await refuse("foreign_state");
      const browserHash = input.browserSecret
        ? await oauthHash(pepper, "browser", input.browserSecret)
        : "";
      if (!constantTimeEqual(browserHash, flow.browser_hash)) {
        return await refuse("other_browser");
      }
      let identity: ProviderIdentity;
      try {
        identity = await client.identify(input.url, {
          state,
          nonce: flow.nonce,
          codeVerifier: flow.code_verifier,
          redirectUri: input.callbackUrl,
          maxAge: flow.max_age ?? undefined,
        });
      } catch (error) {
        if (!(error instanceof OAuthFailure)) throw error;
        await failed(actor, name, error.reason, "provider");
        return back(flow.redirect_to, { error: error.error });
      }
      return await resolve(
        {
          provider: name,
          browserHash: flow.browser_hash,
          appChallenge: flow.app_challenge,
          redirectTo: flow.redirect_to,
        },
        identity,
        actor,
      );
    },
  };
}

/** Social sign-in flows. */
export type OAuthFlows = ReturnType<typeof createOAuthFlows>;
