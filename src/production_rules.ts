/**
 * The rules `APP_ENV=production` enforces: `parseConfig` refuses a configuration that
 * breaks any of them, and `citadel check` reports each broken one as a finding. Both read
 * this one list, so a setting `serve` refuses can never be a mere warning in `check`.
 */
import type { Config } from "./config_settings.ts";

/** The shortest JWT secret production accepts, in bytes of UTF-8. */
export const MIN_PRODUCTION_SECRET_BYTES = 32;

/** One fail-closed rule of production: what it refuses, why, and how to fix it. */
export interface ProductionRule {
  /** Stable name, e.g. `allowed-hosts-required`. */
  id: string;
  /** The environment variable to change. */
  variable: string;
  /** What is wrong, completing "<variable>: ...". */
  message: string;
  /** The exact setting that fixes it. */
  fix: string;
  /** How `citadel check` rates it: never below high, because `serve` will not start. */
  severity: "critical" | "high";
  /** True when the configuration breaks the rule. */
  violatedBy(config: Config): boolean;
}

/** Byte length of a UTF-8 string; secrets are judged in bytes, not characters. */
export function byteLength(value: string): number {
  return new TextEncoder().encode(value).length;
}

const NEW_SECRET = "Generate one with `citadel secret` and set JWT_SECRET_KEY to it";

/** Every production rule, in the order their refusals are listed. */
export const PRODUCTION_RULES: readonly ProductionRule[] = [
  {
    id: "jwt-secret-required",
    variable: "JWT_SECRET_KEY",
    message: "is required when APP_ENV=production",
    fix: NEW_SECRET,
    severity: "critical",
    violatedBy: (config) => !config.jwt.secret,
  },
  {
    id: "jwt-secret-length",
    variable: "JWT_SECRET_KEY",
    message: `must be at least ${MIN_PRODUCTION_SECRET_BYTES} bytes when APP_ENV=production`,
    fix: NEW_SECRET,
    severity: "critical",
    violatedBy: (config) =>
      config.jwt.secret !== undefined &&
      byteLength(config.jwt.secret) < MIN_PRODUCTION_SECRET_BYTES,
  },
  {
    id: "encryption-key-for-signing-keys",
    variable: "ENCRYPTION_KEY",
    message: "is required when APP_ENV=production and JWT_ALGORITHM is EdDSA or ES256 " +
      "(the private signing key is stored encrypted under it)",
    fix: "Generate one with `openssl rand -base64 32` and set ENCRYPTION_KEY to it",
    severity: "critical",
    violatedBy: (config) => config.jwt.algorithm !== "HS256" && !config.encryption.key,
  },
  {
    id: "smtp-tls-required",
    variable: "SMTP_ALLOW_INSECURE",
    message: "must not be true when APP_ENV=production (messages would travel in plaintext)",
    fix: "Unset SMTP_ALLOW_INSECURE and use an SMTP server with STARTTLS or implicit TLS",
    severity: "critical",
    violatedBy: (config) => config.email.allowInsecure,
  },
  {
    id: "public-url-for-email",
    variable: "PUBLIC_URL",
    message: "is required when APP_ENV=production and SMTP_URL is set (links in messages)",
    fix: "Set PUBLIC_URL to the address users reach citadel at, e.g. https://auth.example.com",
    severity: "high",
    violatedBy: (config) => config.email.smtpUrl !== undefined && !config.email.publicUrl,
  },
  {
    id: "https-email-links",
    variable: "PUBLIC_URL",
    message: "and EMAIL_LINK_BASE_URL must be https:// URLs when APP_ENV=production (the links " +
      "in messages carry tokens)",
    fix: "Set PUBLIC_URL=https://auth.example.com (and EMAIL_LINK_BASE_URL, if set, to https://)",
    severity: "high",
    violatedBy: (config) =>
      [config.email.publicUrl, config.email.linkBaseUrl].some((url) =>
        url !== undefined && !url.startsWith("https://")
      ),
  },
  {
    id: "https-webauthn-origins",
    variable: "WEBAUTHN_ORIGINS",
    message: "must list only https:// origins when APP_ENV=production (a passkey ceremony on " +
      "plain HTTP can be tampered with)",
    fix: "Set WEBAUTHN_ORIGINS=https://app.example.com, or unset it",
    severity: "high",
    violatedBy: (config) => config.webauthn.origins.some((o) => !o.startsWith("https://")),
  },
  {
    id: "public-url-for-oauth",
    variable: "PUBLIC_URL",
    message: "is required when APP_ENV=production and OAUTH_PROVIDERS is set (the callback URL " +
      "registered with each provider is built from it)",
    fix: "Set PUBLIC_URL to the address users reach citadel at, e.g. https://auth.example.com",
    severity: "high",
    violatedBy: (config) => config.oauth.providers.length > 0 && !config.email.publicUrl,
  },
  {
    id: "https-oauth-redirects",
    variable: "OAUTH_REDIRECT_URLS",
    message: "must not list http:// URLs when APP_ENV=production (the one-time sign-in code " +
      "travels in them)",
    fix: "List https:// pages (or a mobile app's own scheme), e.g. " +
      "OAUTH_REDIRECT_URLS=https://app.example.com/auth/callback",
    severity: "high",
    violatedBy: (config) => config.oauth.redirectUrls.some((url) => url.startsWith("http://")),
  },
  {
    id: "https-oauth-issuers",
    variable: "OAUTH_PROVIDERS",
    message: "lists a provider whose OAUTH_<NAME>_ISSUER is not https:// (its keys and tokens " +
      "would travel in clear)",
    fix: "Set each OAUTH_<NAME>_ISSUER to the provider's https:// issuer",
    severity: "high",
    violatedBy: (config) => config.oauthProviders.some((p) => !p.issuer.startsWith("https://")),
  },
  {
    id: "smtp-for-required-verification",
    variable: "EMAIL_VERIFICATION",
    message: "is `required` but SMTP_URL is not set: no account could ever be verified",
    fix: "Set SMTP_URL, or EMAIL_VERIFICATION=optional",
    severity: "high",
    violatedBy: (config) =>
      config.email.verification === "required" && config.email.smtpUrl === undefined,
  },
  {
    id: "debug-off",
    variable: "DEBUG",
    message: "must not be true when APP_ENV=production",
    fix: "Unset DEBUG or set DEBUG=false",
    severity: "high",
    violatedBy: (config) => config.debug,
  },
  {
    id: "cors-no-wildcard",
    variable: "CORS_ORIGINS",
    message: "must not be * when APP_ENV=production",
    fix: "List exact origins, e.g. CORS_ORIGINS=https://app.example.com",
    severity: "high",
    violatedBy: (config) => config.corsOrigins.includes("*"),
  },
  {
    id: "metrics-not-public",
    variable: "METRICS_ALLOWED_IPS",
    message: "must not allow every address when APP_ENV=production (the metrics describe " +
      "traffic, failures and load to anyone)",
    fix: "List the scrapers' addresses, e.g. METRICS_ALLOWED_IPS=10.0.0.5/32, or use " +
      "METRICS_TOKEN from anywhere",
    severity: "high",
    violatedBy: (config) =>
      config.metrics.enabled &&
      config.metrics.allowedIps.some((range) => /^(0\.0\.0\.0|::)\/0$/.test(range)),
  },
  {
    id: "allowed-hosts-required",
    variable: "ALLOWED_HOSTS",
    message: "is required when APP_ENV=production",
    fix: "Set ALLOWED_HOSTS to the host names clients use, e.g. api.example.com",
    severity: "high",
    violatedBy: (config) => config.allowedHosts.length === 0,
  },
  {
    id: "plain-http-explicit",
    variable: "ALLOW_INSECURE_HTTP",
    message:
      "plain HTTP without TLS or a trusted proxy must be allowed explicitly when APP_ENV=production",
    fix: "Set TLS_CERT_FILE and TLS_KEY_FILE, or TRUSTED_PROXIES for a TLS-terminating proxy, " +
      "or ALLOW_INSECURE_HTTP=true",
    severity: "high",
    violatedBy(config) {
      const secure = (config.tls.certFile && config.tls.keyFile) ||
        config.trustedProxies.length > 0;
      return !secure && !config.tls.allowInsecureHttp;
    },
  },
];

/** The production rules a configuration breaks (empty when production would start). */
export function productionViolations(config: Config): ProductionRule[] {
  return PRODUCTION_RULES.filter((rule) => rule.violatedBy(config));
}
