/**
 * The `citadel check` findings about the HTTP stack's configuration: CORS origins, TLS, HSTS,
 * rate limits, DEBUG and APP_ENV (CIT-040 to CIT-048).
 */
import { type CheckContext, type CheckDefinition, defineCheck } from "./types.ts";

// Read raw: the production parse refuses some of these values, and check reports them.
function flag(context: CheckContext, name: string): boolean | undefined {
  const value = context.env[name]?.trim().toLowerCase();
  if (value === undefined || value === "") return undefined;
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  return undefined;
}

function list(context: CheckContext, name: string): string[] {
  return (context.env[name] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function plainHttp(context: CheckContext): boolean {
  const { tls, trustedProxies } = context.config;
  return !(tls.certFile && tls.keyFile) && trustedProxies.length === 0;
}

const TLS_FIX = "Set TLS_CERT_FILE and TLS_KEY_FILE, or run behind a TLS-terminating proxy " +
  "and list it in TRUSTED_PROXIES (e.g. TRUSTED_PROXIES=127.0.0.1)";

/** Transport, origins, hosts and the switches that loosen the HTTP stack. */
export const HTTP_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-040",
    severity: "high",
    group: "http",
    title: "CORS allows any origin",
    fix: "List exact origins, e.g. CORS_ORIGINS=https://app.example.com",
    run: (context) =>
      list(context, "CORS_ORIGINS").includes("*")
        ? [{ found: "CORS_ORIGINS contains *", setting: "CORS_ORIGINS" }]
        : [],
  }),
  defineCheck({
    id: "CIT-041",
    severity: "medium",
    group: "http",
    title: "CORS trusts plain-HTTP origins in production",
    fix: "Use https:// origins only in CORS_ORIGINS",
    run(context) {
      if (!context.production) return [];
      const plain = list(context, "CORS_ORIGINS").filter((o) =>
        o.toLowerCase().startsWith("http:")
      );
      return plain.length > 0
        ? [{ found: `CORS_ORIGINS lists ${plain.join(", ")}`, setting: "CORS_ORIGINS" }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-043",
    severity: "high",
    group: "http",
    title: "No TLS and no trusted proxy in production",
    fix: TLS_FIX,
    covers: ["ALLOW_INSECURE_HTTP"],
    run: (context) =>
      context.production && plainHttp(context)
        ? [{ found: "neither TLS_CERT_FILE/TLS_KEY_FILE nor TRUSTED_PROXIES is set" }]
        : [],
  }),
  defineCheck({
    id: "CIT-044",
    severity: "medium",
    group: "http",
    title: "ALLOW_INSECURE_HTTP is on",
    fix: "Unset ALLOW_INSECURE_HTTP once TLS or a trusted proxy is in place. " + TLS_FIX,
    run: (context) =>
      flag(context, "ALLOW_INSECURE_HTTP")
        ? [{
          found: "ALLOW_INSECURE_HTTP=true lets production run over plain HTTP",
          setting: "ALLOW_INSECURE_HTTP",
        }]
        : [],
  }),
  defineCheck({
    id: "CIT-045",
    severity: "low",
    group: "http",
    title: "HSTS is never sent",
    fix: TLS_FIX,
    run: (context) =>
      context.production && plainHttp(context)
        ? [{
          found: "Strict-Transport-Security is only sent on HTTPS requests, and this " +
            "deployment sees none",
        }]
        : [],
  }),
  defineCheck({
    id: "CIT-046",
    severity: "high",
    group: "http",
    title: "Rate limiting is off",
    fix: "Unset RATE_LIMIT_ENABLED or set RATE_LIMIT_ENABLED=true",
    run: (context) =>
      flag(context, "RATE_LIMIT_ENABLED") === false
        ? [{ found: "RATE_LIMIT_ENABLED=false", setting: "RATE_LIMIT_ENABLED" }]
        : [],
  }),
  defineCheck({
    id: "CIT-047",
    severity: "high",
    group: "http",
    title: "DEBUG is on",
    fix: "Unset DEBUG or set DEBUG=false",
    run: (context) =>
      flag(context, "DEBUG")
        ? [{ found: "DEBUG=true logs request details at debug level", setting: "DEBUG" }]
        : [],
  }),
  defineCheck({
    id: "CIT-048",
    severity: "medium",
    group: "http",
    title: "APP_ENV is not production",
    fix: "Set APP_ENV=production on deployed servers",
    run: (context) =>
      context.production ? [] : [{
        found: `APP_ENV=${context.config.appEnv}: the fail-closed production rules are off ` +
          "and the production-only checks were skipped",
        setting: "APP_ENV",
      }],
  }),
];
