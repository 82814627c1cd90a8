/**
 * ADMIN_ALLOWED_IPS: administration (`/admin`, `/api/v1/admin/*`) answers only clients in the
 * listed ranges. Elsewhere it answers exactly as an unknown route does, so a scan from outside
 * cannot tell that it exists.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { compileTrustedProxies } from "../lib/trusted_proxies.ts";

/**
 * The guard; with an empty list every address passes (the default). `unknown` is the app's
 * answer to an unknown route (errors.ts `unknownRoute`), path-guard counting included.
 */
export function adminNetwork(
  allowed: readonly string[],
  unknown: (c: Context<AppEnv>) => Promise<Response>,
): MiddlewareHandler<AppEnv> {
  // The same range syntax as TRUSTED_PROXIES (CIDRs, `loopback`, `private`), validated by config.
  const ranges = compileTrustedProxies(allowed);
  return async function adminNetworkHandler(c, next) {
    if (ranges.size > 0 && !ranges.contains(c.get("clientIp"))) return await unknown(c);
    return await next();
  };
}
