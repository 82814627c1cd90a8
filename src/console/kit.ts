/**
 * What every console page module is given: the services, the app's own fetch for the API,
 * and the layout's context of a request.
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { Services } from "../services/container.ts";
import type { AppFetch } from "./api.ts";
import type { PageContext } from "./layout.tsx";

/** What a console page handler is given: the services, the API, and its page context. */
export interface ConsoleKit {
  services: Services;
  appFetch: AppFetch;
  /** PUBLIC_URL, where the browser reaches citadel (else the request's own origin). */
  publicUrl?: string;
  /** The layout's context of this request (nonce, CSRF token, user, flash). */
  pageContext(c: Context<AppEnv>, flash?: PageContext["flash"]): Promise<PageContext>;
}
