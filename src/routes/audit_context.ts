/**
 * The audit actor of a request: who acts (user, API key or anonymous), from which address and
 * agent, under which request id.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { AuditActor } from "../services/audit_events.ts";

/**
 * Who is acting and from where, for {@linkcode recordAudit}: the authenticated principal
 * (a user, or an API key by its key id) or anonymous, the client IP resolved by
 * requestContext, the User-Agent and the request id.
 */
export function auditContext(c: Context<AppEnv>): AuditActor {
  const principal = c.get("principal");
  const actor: Pick<AuditActor, "actorType" | "actorId"> = !principal
    ? { actorType: "anonymous", actorId: null }
    : principal.kind === "api_key"
    ? { actorType: "api_key", actorId: principal.apiKeyId ?? principal.userId }
    : { actorType: "user", actorId: principal.userId };
  return {
    ...actor,
    ip: c.get("clientIp") ?? null,
    userAgent: c.req.header("user-agent") ?? null,
    requestId: c.get("requestId") ?? null,
  };
}
