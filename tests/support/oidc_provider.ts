/**
 * A real OpenID Connect provider (the npm `oidc-provider`, a certified implementation) on a
 * free loopback port, for the social sign-in tests: one confidential client, PKCE (S256)
 * required, scopes openid email profile, accounts the test can change, its own RS256 key per
 * start, and two levers for attack and failure tests: ID tokens re-signed after a tamper
 * function, and a token endpoint that answers a chosen error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";

// oidc-provider warns "Unsupported runtime" on stderr when its module loads under Deno (it
// works); that one line is dropped while it loads so that test output stays clean.
const Provider = await (async () => {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("oidc-provider WARNING: Unsupported runtime")) warn(...args);
  };
  try {
    return (await import("oidc-provider")).default;
  } finally {
    console.warn = warn;
  }
})();

/** An end user of the provider; `sub` is the subject its ID tokens carry. */
export interface ProviderAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** Rewrites the claims of an ID token before the provider re-signs it. */
export interface IdTokenTamper {
  (claims: Record<string, unknown>): Record<string, unknown>;
}

/** What the token endpoint answers instead of tokens while set. */
export interface TokenEndpointError {
  /** HTTP status; 400 unless told. */
  status?: number;
  error: string;
  error_description?: string;
}

/** A running provider. */
export interface TestOidcProvider {
  /** `http://127.0.0.1:PORT` (no trailing slash); discovery is at `/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The provider's accounts by `sub`; tests may add or change them at any time. */
  accounts: Map<string, ProviderAccount>;
  /**
   * While set, token responses carry an ID token whose claims went through this function,
   * re-signed with the provider's own key (same `kid` and `alg`), so the signature stays valid.
   */
  tamperIdToken: IdTokenTamper | undefined;
  /** While set, the token endpoint answers this error (for provider-failure tests). */
  tokenEndpointError: TokenEndpointError | undefined;
  /** How each token request sent the client secret, in order (`basic` or `post`). */
  tokenAuthSeen: Array<"basic" | "post">;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Options of {@linkcode startOidcProvider}. */
export interface TestOidcProviderOptions {
  /** The client's registered redirect URIs (exact match, as oidc-provider does). */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  accounts?: ProviderAccount[];
  /** `client_secret_basic` unless told. */
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
  /**
   * Whether email, email_verified and name go into the ID token (default true); with false
   * they are only served by the userinfo endpoint, as some providers do.
   */
  idTokenClaims?: boolean;
}

/** The path of the sign-in step; the interaction cookie is scoped to it. */
const INTERACTION_PATH = /^\/interaction\/([\w-]+)$/;

/** Starts a provider on a free loopback port. */
export async function startOidcProvider(
  options: TestOidcProviderOptions,
): Promise<TestOidcProvider> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = crypto.randomUUID();
  const jwk = { ...await exportJWK(privateKey), kid, alg: "RS256", use: "sig" };

  // The issuer names the port, so the socket is bound first and the app plugged in after.
  let handle = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(503).end();
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const store = new Map<string, Record<string, unknown>>();
  const state: TestOidcProvider = {
    issuer,
    clientId: options.clientId ?? "citadel-test-client",
    clientSecret: options.clientSecret ?? crypto.randomUUID() + crypto.randomUUID(),
    accounts: new Map((options.accounts ?? []).map((account) => [account.sub, account])),
    tamperIdToken: undefined,
    tokenEndpointError: undefined,
    tokenAuthSeen: [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => error ? reject(error) : resolve());
        server.closeAllConnections();
      }),
  };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: state.clientId,
      client_secret: state.clientSecret,
      redirect_uris: options.redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? "client_secret_basic",
    }],
    // Discovery offers only the client's own method, as a provider that takes one (LinkedIn
    // takes only the form post) does.
    clientAuthMethods: [options.tokenEndpointAuthMethod ?? "client_secret_basic"],
    adapter: memoryAdapter(store),
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomUUID(), crypto.randomUUID()] },
    pkce: { required: () => true },
    scopes: ["openid"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    conformIdTokenClaims: options.idTokenClaims === false,
    features: { devInteractions: { enabled: false } },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = state.accounts.get(sub);
      return account &&
        { accountId: sub, claims: () => ({ ...state.accounts.get(sub) ?? account }) };
    },
    // Explicit lifetimes and error page: the defaults print a notice each when first used.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    renderError: (ctx: KoaContext, out: Record<string, string>) => {
      ctx.type = "json";
      ctx.body = out;
    },
  });

  provider.use(async (ctx: KoaContext, next: () => Promise<void>) => {
    const interaction = INTERACTION_PATH.exec(ctx.path);
    if (interaction) return await signIn(ctx, interaction[1]);
    const toToken = ctx.method === "POST" && ctx.path === "/token";
    if (toToken) {
      const basic = /^basic /i.test(String(ctx.req.headers.authorization ?? ""));
      state.tokenAuthSeen.push(basic ? "basic" : "post");
    }
    if (toToken && state.tokenEndpointError) {
      const { status = 400, ...body } = state.tokenEndpointError;
      ctx.status = status;
      ctx.body = body;
      return;
    }
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (toToken && state.tamperIdToken && typeof body?.id_token === "string") {
      const header = decodeProtectedHeader(body.id_token);
      const claims = state.tamperIdToken({ ...decodeJwt(body.id_token) });
      body.id_token = await new SignJWT(claims)
        .setProtectedHeader({ ...header, alg: "RS256" })
        .sign(privateKey);
    }
  });

  /** GET shows the step; POST `sub=` signs that account in and grants what was asked. */
  async function signIn(ctx: KoaContext, uid: string): Promise<void> {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, "interaction mismatch");
    if (ctx.method === "GET") {
      ctx.type = "html";
      ctx.body = `<form method="post"><input name="sub"><button>Sign in</button></form>`;
      return;
    }
    let form = "";
    for await (const chunk of ctx.req) form += chunk;
    const sub = new URLSearchParams(form).get("sub") ?? "";
    let result: Record<string, unknown>;
    if (!state.accounts.has(sub)) {
      result = { error: "access_denied", error_description: "unknown account" };
    } else {
      const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
      grant.addOIDCScope(String(details.params.scope));
      result = { login: { accountId: sub }, consent: { grantId: await grant.save() } };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result));
  }

  handle = provider.callback();
  return state;
}

/**
 * Follows an authorization URL like a browser (its own cookie jar), signs in as `sub` at the
 * provider and returns the final redirect back to the client (with `code` and `state`, or
 * `error`) without requesting it. An unknown `sub` ends in `error=access_denied`.
 */
export async function driveAuthorization(
  provider: TestOidcProvider,
  authorizationUrl: string,
  sub: string,
): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(authorizationUrl);
  let init: RequestInit = { method: "GET" };
  for (let hop = 0; hop < 10; hop++) {
    if (url.origin !== provider.issuer) return url;
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...init.headers, ...cookie ? { cookie } : {} },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1)];
      if (value === "") jar.delete(name);
      else jar.set(name, value);
    }
    const location = response.headers.get("location");
    const text = await response.text();
    if (location) {
      url = new URL(location, url);
      init = { method: "GET" };
    } else if (response.ok && INTERACTION_PATH.test(url.pathname) && init.method === "GET") {
      init = {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ sub }).toString(),
      };
    } else {
      throw new Error(`The provider answered ${response.status} at ${url.pathname}: ${text}`);
    }
  }
  throw new Error("The authorization did not come back to the client within 10 redirects");
}

/** The slice of a Koa context the middleware touches. */
interface KoaContext {
  path: string;
  method: string;
  status: number;
  type: string;
  body: unknown;
  req: IncomingMessage;
  res: ServerResponse;
  redirect(url: string): void;
  throw(status: number, message: string): never;
}

/**
 * A per-provider store (the package's own memory adapter is shared by default and announces
 * itself as development-only on stderr). Expiry is not enforced: a test outlives no token.
 */
function memoryAdapter(store: Map<string, Record<string, unknown>>) {
  return (model: string) => ({
    upsert(id: string, payload: Record<string, unknown>) {
      store.set(`${model}:${id}`, payload);
      if (model === "Session") store.set(`uid:${payload.uid}`, { id });
      return Promise.resolve();
    },
    find: (id: string) => Promise.resolve(store.get(`${model}:${id}`)),
    findByUid: (uid: string) =>
      Promise.resolve(store.get(`${model}:${store.get(`uid:${uid}`)?.id}`)),
    findByUserCode: () => Promise.resolve(undefined),
    consume(id: string) {
      const payload = store.get(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    },
    destroy(id: string) {
      store.delete(`${model}:${id}`);
      return Promise.resolve();
    },
    revokeByGrantId(grantId: string) {
      for (const [key, payload] of store) if (payload.grantId === grantId) store.delete(key);
      return Promise.resolve();
    },
  });
}
