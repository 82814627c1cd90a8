/**
 * The web console, mounted by createApp: its assets (the browser half of WebAuthn among
 * them), the sign-in pages and their passkey ceremonies, `/account` (every user) and
 * `/admin` (administrators). Pages are rendered on the server with hono/jsx; every
 * action calls the API in process (api.ts), so the console holds no rule of its own.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { AppError } from "../errors.ts";
import { errorHandler } from "../middleware/errors.ts";
import type { Logger } from "../platform/logger.ts";
import { Page } from "./layout.tsx";
import type { Services } from "../services/container.ts";
import { accountRoutes } from "./account.tsx";
import { adminRoutes } from "./admin.tsx";
import type { AppFetch } from "./api.ts";
import { ASSET_PATH, ICON, SCRIPT, STYLESHEET, WEBAUTHN_SCRIPT } from "./assets.ts";
import { consoleContext, csrfToken } from "./context.ts";
import type { ConsoleKit } from "./kit.ts";
import { JsonEndpointFailure } from "./passkey_parts.tsx";
import { linkRoutes } from "./links.tsx";
import { signInHandlers } from "./sign_in.tsx";
import { passkeySignInHandlers } from "./sign_in_passkey.ts";
import { oauthSignInHandlers } from "./sign_in_oauth.tsx";

/**
 * The console's routes; `appFetch` is the app's own fetch, for the API calls. A refusal raised
 * on a page (a form's CSRF check, its size) is answered as a page with the same status; an
 * unexpected error goes through the app's error handler, logged (a JSON endpoint's is
 * answered by it, as problem+json with the request id).
 */
export function consoleRoutes(
  services: Services,
  appFetch: AppFetch,
  logger: Logger,
  publicUrl?: string,
): Hono<AppEnv> {
  const kit: ConsoleKit = {
    services,
    appFetch,
    publicUrl,
    async pageContext(c, flash) {
      const session = c.get("consoleSession");
      return {
        nonce: c.get("nonce") ?? "",
        csrf: await csrfToken(c, services),
        user: session &&
          { id: session.user.id, email: session.user.email, role: session.user.role },
        flash,
      };
    },
  };
  const signIn = signInHandlers(services, appFetch, (c) => kit.pageContext(c));
  const passkeySignIn = passkeySignInHandlers(services, appFetch, signIn.open);
  const oauthSignIn = oauthSignInHandlers(kit, signIn.open);
  const asset = (body: string, type: string) => (c: Context<AppEnv>) => {
    c.set("publicCache", true);
    return c.body(body, 200, { "content-type": type });
  };

  const app = new Hono<AppEnv>();
  // Pages link to them with `?v=<content hash>` (ASSET_HREF); the query only keys the cache.
  app.get(ASSET_PATH.style, asset(STYLESHEET, "text/css; charset=utf-8"));
  app.get(ASSET_PATH.script, asset(SCRIPT, "text/javascript; charset=utf-8"));
  app.get(ASSET_PATH.icon, asset(ICON, "image/svg+xml"));
  app.get(ASSET_PATH.webauthn, asset(WEBAUTHN_SCRIPT, "text/javascript; charset=utf-8"));
  for (const prefix of ["/account", "/account/*", "/admin", "/admin/*"]) {
    app.use(prefix, consoleContext(services));
  }
  app.get("/account/sign-in", signIn.form);
  app.post("/account/sign-in", signIn.password);
  app.post("/account/sign-in/mfa", signIn.secondFactor);
  app.post("/account/sign-in/passkey/options", passkeySignIn.options);
  app.post("/account/sign-in/passkey", passkeySignIn.signIn);
  app.post("/account/sign-in/mfa/passkey/options", passkeySignIn.mfaOptions);
  app.post("/account/sign-in/mfa/passkey", passkeySignIn.mfa);
  app.get("/account/sign-in/oauth", oauthSignIn.returnPage);
  app.post("/account/sign-in/oauth", oauthSignIn.finish);
  app.get("/account/sign-in/oauth/:provider", oauthSignIn.start);
  app.post("/account/sign-out", signIn.signOut);
  app.route("/account", linkRoutes(kit));
  app.route("/account", accountRoutes(kit));
  app.route("/admin", adminRoutes(kit));
  const unexpected = errorHandler(logger);
  app.onError(async (error, c) => {
    if (error instanceof JsonEndpointFailure) return await unexpected(error.original, c);
    const known = error instanceof AppError && error.status < 500;
    // The app's handler logs an unexpected error (with the request id) and picks its status.
    const status = known ? (error as AppError).status : (await unexpected(error, c)).status;
    const text = known
      ? (error as AppError).detail
      : "Something went wrong on our side. If it happens again, give your administrator " +
        `this reference: ${c.get("requestId")}.`;
    return c.html(
      <Page title="That did not work" ctx={await kit.pageContext(c)}>
        <p role="alert">{text}</p>
        <p>
          <a href="/account">Back to your account</a>
        </p>
      </Page>,
      status as 400,
    );
  });
  return app;
}
