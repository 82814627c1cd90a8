/**
 * Every setting, declared once: its variable, parser (with default and range), README
 * description, and by its place in this tree the config path it fills. `config.ts` derives
 * the schema, the `Config` type and the mapping from it; a test checks README's table
 * against it. Read only by `config.ts` (and, for the `Config` type, `production_rules.ts`).
 */
import {
  bool,
  type ConfigOf,
  type ConfigProblem,
  int,
  list,
  oneOf,
  optionalText,
  setting,
  text,
} from "./config_declaration.ts";
import { FIELD_KEY_BYTES, parseFieldKey } from "./lib/field_crypto.ts";
import { allowedHostEntry } from "./lib/host.ts";
import type { OAuthProviderConfig } from "./lib/oauth_providers.ts";
import * as z from "zod";

const DATABASE_URL = "file:./data/citadel.db";
const DAY = 86_400;
const UNLIMITED = 1e9;

/** The settings tree: its shape is the shape of `Config`. */
export const SETTINGS = {
  appEnv: setting(
    "APP_ENV",
    oneOf(["development", "production", "test"], "development"),
    "`development`, `production` or `test`; `production` turns on the fail-closed checks below",
  ),
  host: setting("HOST", text("127.0.0.1"), "address to listen on"),
  port: setting("PORT", int(8000, 0, 65535), "port to listen on (`0` picks a free one)"),
  workers: setting("WORKERS", int(0, 0, 256), "isolates `serve` runs on one port"),
  databaseUrl: setting(
    "DATABASE_URL",
    z.string().trim().default(DATABASE_URL).refine(
      (v) => v === ":memory:" || /^(file|libsql|https?|wss?):/.test(v),
      "must start with file:, libsql://, https:// or be :memory:",
    ),
    "`file:` path, `:memory:`, `libsql://` or `https://` (Turso / sqld)",
  ),
  databaseAuthToken: setting(
    "DATABASE_AUTH_TOKEN",
    optionalText,
    "auth token for a remote libSQL database",
  ),
  databaseEncryptionKey: setting(
    "DATABASE_ENCRYPTION_KEY",
    optionalText,
    "encrypts a file database at rest (libSQL whole-database encryption)",
  ),
  migrateOnStart: setting(
    "MIGRATE_ON_START",
    bool(true),
    "`serve` applies pending migrations at start",
  ),
  jwt: {
    secret: setting(
      "JWT_SECRET_KEY",
      optionalText,
      "HS256 signing secret, at least 32 bytes; `citadel secret` prints one",
      { unsetMeans: "generated in development" },
    ),
    previousSecret: setting(
      "JWT_SECRET_KEY_PREVIOUS",
      optionalText,
      "accepted for verification only, to rotate the secret without logging everyone out",
    ),
    algorithm: setting(
      "JWT_ALGORITHM",
      oneOf(["HS256", "EdDSA", "ES256"], "HS256"),
      "`HS256` signs access tokens with `JWT_SECRET_KEY`; `EdDSA` (Ed25519) or `ES256` sign " +
        "with a key pair kept in the database (private part under `ENCRYPTION_KEY`) and " +
        "publish the public keys at `/.well-known/jwks.json`",
    ),
    publishDelaySeconds: setting(
      "JWKS_PUBLISH_DELAY",
      int(600, 0, 30 * DAY),
      "seconds a new signing key stays in the JWKS before `keys rotate` may make it sign " +
        "(verifiers' caches must have seen it)",
    ),
    issuer: setting("JWT_ISSUER", text("citadel"), "`iss` claim, verified"),
    audience: setting("JWT_AUDIENCE", text("citadel-api"), "`aud` claim, verified"),
    accessTtlSeconds: setting(
      "ACCESS_TOKEN_TTL",
      int(900, 30, DAY),
      "access-token lifetime in seconds",
    ),
  },
  refresh: {
    ttlSeconds: setting(
      "REFRESH_TOKEN_TTL",
      int(30 * DAY, 60, 366 * DAY),
      "absolute refresh-session lifetime in seconds",
    ),
    idleSeconds: setting(
      "REFRESH_TOKEN_IDLE_TTL",
      int(7 * DAY, 60, 366 * DAY),
      "a session unused this long expires",
    ),
    graceSeconds: setting(
      "REFRESH_GRACE_SECONDS",
      int(10, 0, 300),
      "a rotated refresh token retried within this window gets the same successor pair",
    ),
    cookie: setting(
      "REFRESH_COOKIE",
      bool(false),
      "also send the refresh token as a `__Host-` HttpOnly, Secure, SameSite=Strict cookie",
    ),
  },
  hashPepper: setting(
    "HASH_PEPPER",
    optionalText,
    "key of the HMAC that stores refresh tokens, API keys and other token hashes; never " +
      "changes when `JWT_SECRET_KEY` rotates",
    {
      unsetMeans: "generated once into `DATA_DIR/hash_pepper` in development; production " +
        "requires it or that file",
    },
  ),
  encryption: {
    key: setting(
      "ENCRYPTION_KEY",
      optionalText,
      "32 random bytes in base64 (`openssl rand -base64 32`): encrypts secrets stored in " +
        "database fields (AES-256-GCM): private signing keys",
      {
        unsetMeans: "generated once into `DATA_DIR/encryption_key` in development; " +
          "production requires it with an asymmetric `JWT_ALGORITHM` or encrypted fields",
        finish: checkFieldKey("ENCRYPTION_KEY"),
      },
    ),
    previousKey: setting(
      "ENCRYPTION_KEY_PREVIOUS",
      optionalText,
      "the `ENCRYPTION_KEY` being retired: decrypts only, until fields are re-encrypted",
      { finish: checkFieldKey("ENCRYPTION_KEY_PREVIOUS") },
    ),
  },
  superAdmin: {
    username: setting(
      "SUPER_ADMIN_USERNAME",
      optionalText,
      "login (email or username) of the first super admin",
      { unsetMeans: "`admin@citadel.localhost`" },
    ),
    password: setting(
      "SUPER_ADMIN_PASSWORD",
      optionalText,
      "password of the first super admin; used only when no super admin exists yet",
      { unsetMeans: "generated in development" },
    ),
  },
  mfa: {
    issuer: setting(
      "MFA_ISSUER",
      // Authenticator apps split the label's issuer and account on the first colon.
      text("citadel").refine((v) => !v.includes(":"), "must not contain a colon"),
      "issuer named in the `otpauth://` URI of a TOTP enrolment (what authenticator apps show)",
    ),
    stepUpMaxAgeSeconds: setting(
      "STEP_UP_MAX_AGE",
      int(600, 1, DAY),
      "seconds after a login or reauthentication in which sensitive operations (password, " +
        "MFA, admin writes, admin-scoped keys) are allowed; older sessions get 403 " +
        "`reauthentication_required`",
    ),
    requireForAdmins: setting(
      "REQUIRE_MFA_FOR_ADMINS",
      bool(false),
      "admins and super admins without a second factor get 403 `mfa_enrollment_required` on " +
        "`/api/v1/admin/*` (they can still enrol under `/api/v1/me/mfa`)",
    ),
  },
  registrationEnabled: setting(
    "REGISTRATION_ENABLED",
    bool(true),
    "`false` answers register with 403 `registration_disabled`",
  ),
  corsOrigins: setting(
    "CORS_ORIGINS",
    list,
    "comma list of exact origins (`https://app.example.com`); `*` only in development",
  ),
  allowedHosts: setting(
    "ALLOWED_HOSTS",
    list,
    "comma list of accepted `Host` values; a leading dot allows subdomains; required in " +
      "production",
    { finish: parseAllowedHosts },
  ),
  consoleEnabled: setting(
    "CONSOLE_ENABLED",
    bool(true),
    "serves the web console at `/account` (every user) and `/admin` (administrators)",
  ),
  openApiEnabled: setting(
    "OPENAPI_ENABLED",
    bool(true),
    "serves the OpenAPI 3.1 description at `/openapi.json` and the API reference page at " +
      "`/docs`; `false` answers both with 404",
  ),
  webauthn: {
    rpId: setting(
      "WEBAUTHN_RP_ID",
      optionalText,
      "the passkey relying party ID, a host name that covers every origin; passkeys registered " +
        "under one RP ID work only under it",
      { unsetMeans: "the host of `PUBLIC_URL`" },
    ),
    rpName: setting(
      "WEBAUTHN_RP_NAME",
      text("citadel"),
      "the relying party's name, shown by the browser when a passkey is created",
    ),
    origins: setting(
      "WEBAUTHN_ORIGINS",
      list,
      "comma list of extra exact origins passkey ceremonies may come from, besides " +
        "`PUBLIC_URL`'s; without either, outside production the request's own origin is used " +
        "and in production passkeys answer 503 `passkeys_unavailable`",
    ),
  },
  oauth: {
    providers: setting(
      "OAUTH_PROVIDERS",
      list,
      "comma list of sign-in providers: `google`, `github`, `linkedin`, or any name whose " +
        "`OAUTH_<NAME>_ISSUER` names an OpenID Connect provider; each needs " +
        "`OAUTH_<NAME>_CLIENT_ID` and `OAUTH_<NAME>_CLIENT_SECRET` (see Social sign-in)",
    ),
    redirectUrls: setting(
      "OAUTH_REDIRECT_URLS",
      list,
      "comma list of the exact URLs a social sign-in may return to (`redirect_to`, no prefix " +
        "or wildcard matching); the console's own return page is always accepted; required with " +
        "`OAUTH_PROVIDERS` when the console is off",
    ),
    storeTokens: setting(
      "OAUTH_STORE_TOKENS",
      bool(false),
      "keep the providers' access and refresh tokens, encrypted under `ENCRYPTION_KEY` " +
        "(required then); otherwise they are dropped once the user is known",
    ),
  },
  metrics: {
    enabled: setting(
      "METRICS_ENABLED",
      bool(true),
      "serves Prometheus metrics at `/metrics` (to `METRICS_ALLOWED_IPS` or `METRICS_TOKEN`) and " +
        "records them per request; `false` answers `/metrics` with 404",
    ),
    allowedIps: setting(
      "METRICS_ALLOWED_IPS",
      list,
      "comma list of CIDRs (or `loopback`, `private`) that may scrape `/metrics`; others get " +
        "404 like an unknown route unless they send `METRICS_TOKEN`",
      { unsetMeans: "`loopback`", finish: (ips: string[]) => ips.length > 0 ? ips : ["loopback"] },
    ),
    token: setting(
      "METRICS_TOKEN",
      optionalText.refine(
        (v) => v === undefined || v.length >= 32,
        "must be 32 characters or more (e.g. `openssl rand -base64 32`)",
      ),
      "a Bearer token (32 characters or more) that may scrape `/metrics` from any address",
    ),
    resourceLogInterval: setting(
      "RESOURCE_LOG_INTERVAL",
      int(300, 0, 86_400),
      "seconds between resource log lines (RSS, heap, event-loop lag p99, open sessions, " +
        "outbox depth); `0` turns them off",
    ),
  },
  adminAllowedIps: setting(
    "ADMIN_ALLOWED_IPS",
    list,
    "comma list of CIDRs (or `loopback`, `private`) allowed to reach `/admin` and " +
      "`/api/v1/admin/*`; elsewhere both answer 404 like an unknown route",
    { unsetMeans: "any address" },
  ),
  trustedProxies: setting(
    "TRUSTED_PROXIES",
    list,
    "comma list of CIDRs whose `X-Forwarded-For`/`Forwarded`/`X-Forwarded-Proto` are believed",
  ),
  /** The forwarding header TRUSTED_PROXIES maintain: X-Forwarded-For or RFC 7239 Forwarded. */
  trustedProxyHeader: setting(
    "TRUSTED_PROXY_HEADER",
    oneOf(["x-forwarded-for", "forwarded"], "x-forwarded-for"),
    "the one forwarding header `TRUSTED_PROXIES` maintain: `x-forwarded-for` or `forwarded` " +
      "(RFC 7239)",
  ),
  debug: setting("DEBUG", bool(false), "raises log detail only; refused in production"),
  logLevel: setting(
    "LOG_LEVEL",
    oneOf(["debug", "info", "warn", "error"], "info"),
    "`debug`, `info`, `warn`, `error`",
  ),
  logDir: setting(
    "LOG_DIR",
    optionalText,
    "also write JSON logs to `LOG_DIR/citadel.log` (dir 700, files 600)",
  ),
  logMaxBytes: setting(
    "LOG_MAX_BYTES",
    int(10 * 1024 * 1024, 1024, 2 ** 40),
    "rotate the log file at this size",
  ),
  logBackups: setting("LOG_BACKUPS", int(5, 0, 100), "rotated log files kept"),
  maxBodyBytes: setting(
    "MAX_BODY_BYTES",
    int(1024 * 1024, 256, 100 * 1024 * 1024),
    "larger request bodies get 413",
  ),
  maxJsonDepth: setting(
    "MAX_JSON_DEPTH",
    int(32, 1, 1000),
    "deeper JSON bodies get 400 `json_limits_exceeded`",
  ),
  maxStringLength: setting(
    "MAX_STRING_LENGTH",
    int(64 * 1024, 64, 10 * 1024 * 1024),
    "longer JSON strings get 400 `json_limits_exceeded`",
  ),
  rateLimit: {
    enabled: setting(
      "RATE_LIMIT_ENABLED",
      bool(true),
      "general rate limits on/off (the login guard always runs)",
    ),
    store: setting(
      "RATE_LIMIT_STORE",
      oneOf(["memory", "database", "redis"], "memory"),
      "`memory` (one process), `database` (all processes on the database), `redis` (all hosts)",
    ),
    redisUrl: setting(
      "REDIS_URL",
      optionalText,
      "`redis://host:6379` for `RATE_LIMIT_STORE=redis`",
    ),
    authPerMinute: setting(
      "RATE_LIMIT_AUTH_PER_MINUTE",
      int(10, 1, UNLIMITED),
      "per-IP limit per minute on register, login, refresh",
    ),
    authPerHour: setting(
      "RATE_LIMIT_AUTH_PER_HOUR",
      int(50, 1, UNLIMITED),
      "per-IP limit per hour on register, login, refresh",
    ),
    authPerDay: setting(
      "RATE_LIMIT_AUTH_PER_DAY",
      int(200, 1, UNLIMITED),
      "per-IP limit per day on register, login, refresh",
    ),
    apiPerMinute: setting(
      "RATE_LIMIT_API_PER_MINUTE",
      int(600, 1, UNLIMITED),
      "per-principal (user or API key) limit on the authenticated API",
    ),
    routeOverrides: setting(
      "RATE_LIMIT_ROUTES",
      optionalText,
      "per-route overrides, `/api/v1/me=120,/api/v1/api-keys=30` (requests per minute)",
      { finish: parseRouteOverrides },
    ),
  },
  loginGuard: {
    maxAttempts: setting(
      "LOGIN_MAX_ATTEMPTS",
      int(5, 1, 1000),
      "failures per (client IP, email) pair before the pair is blocked",
    ),
    windowMinutes: setting("LOGIN_WINDOW_MINUTES", int(15, 1, 1440), "the login guard's window"),
    ipMaxAttempts: setting(
      "LOGIN_IP_MAX_ATTEMPTS",
      int(20, 1, 100_000),
      "failures per client IP across emails (credential stuffing)",
    ),
    emailMaxAttempts: setting(
      "LOGIN_EMAIL_MAX_ATTEMPTS",
      int(100, 1, 1_000_000),
      "failures per account across IPs, after which only networks with a successful login " +
        "and devices with a device credential get through",
    ),
    retentionDays: setting(
      "LOGIN_ATTEMPT_RETENTION_DAYS",
      int(30, 1, 3650),
      "login records older than this are removed by `citadel cleanup`",
    ),
  },
  pathGuard: {
    sensitiveHits: setting(
      "SENSITIVE_PATH_MAX_HITS",
      int(5, 1, 10_000),
      "sensitive-path probes before the client is blocked",
    ),
    notFoundHits: setting(
      "NOT_FOUND_MAX_HITS",
      int(25, 1, 100_000),
      "404s from an unauthenticated client before it is blocked",
    ),
    windowMinutes: setting(
      "PATH_GUARD_WINDOW_MINUTES",
      int(10, 1, 1440),
      "window of both path guards",
    ),
    blockMinutes: setting(
      "PATH_GUARD_BLOCK_MINUTES",
      int(10, 1, 10_080),
      "how long a blocked client stays blocked",
    ),
  },
  argon2: {
    memoryKib: setting(
      "ARGON2_MEMORY_KIB",
      int(19_456, 8, 4_194_304),
      "argon2id memory cost (OWASP minimum)",
    ),
    timeCost: setting("ARGON2_TIME_COST", int(2, 1, 100), "argon2id iterations"),
    parallelism: setting("ARGON2_PARALLELISM", int(1, 1, 64), "argon2id lanes"),
  },
  passwordMinLength: setting(
    "PASSWORD_MIN_LENGTH",
    int(12, 8, 1024),
    "minimum password length",
  ),
  apiKeys: {
    maxLifetimeDays: setting(
      "API_KEY_MAX_LIFETIME_DAYS",
      int(365, 1, 3650),
      "longest allowed API-key lifetime",
    ),
    rotationOverlapHours: setting(
      "API_KEY_ROTATION_OVERLAP_HOURS",
      int(24, 0, 8760),
      "how long a rotated API key's old secret keeps working",
    ),
    perMinute: setting(
      "API_KEY_RATE_LIMIT_PER_MINUTE",
      int(600, 1, UNLIMITED),
      "default per-key rate limit, and the most a user may ask for (admins may raise one " +
        "key's limit through the admin API)",
    ),
    perUserMax: setting(
      "API_KEYS_PER_USER_MAX",
      int(50, 1, 100_000),
      "active (unrevoked, unexpired) API keys one account may hold; one more is 409 " +
        "`api_key_limit_reached`",
    ),
  },
  tls: {
    certFile: setting(
      "TLS_CERT_FILE",
      optionalText,
      "PEM certificate chain: serve HTTPS directly (TLS 1.2+); set together with `TLS_KEY_FILE`",
    ),
    keyFile: setting("TLS_KEY_FILE", optionalText, "PEM private key of `TLS_CERT_FILE`"),
    httpRedirectPort: setting(
      "HTTP_REDIRECT_PORT",
      int(0, 0, 65535),
      "also listen on this port with plain HTTP that only redirects to HTTPS",
      { finish: (port) => port || undefined },
    ),
    allowInsecureHttp: setting(
      "ALLOW_INSECURE_HTTP",
      bool(false),
      "required in production to serve plain HTTP without TLS or a trusted proxy",
    ),
    hstsPreload: setting(
      "HSTS_PRELOAD",
      bool(false),
      "add `preload` to `Strict-Transport-Security`",
    ),
  },
  crossOriginResourcePolicy: setting(
    "CROSS_ORIGIN_RESOURCE_POLICY",
    oneOf(["same-origin", "same-site"], "same-origin"),
    "or `same-site`",
  ),
  alerts: {
    webhookUrl: setting(
      "ALERT_WEBHOOK_URL",
      optionalText,
      "POST security alerts here (JSON, HMAC-signed)",
      { finish: checkWebhookUrl },
    ),
    webhookSecret: setting(
      "ALERT_WEBHOOK_SECRET",
      optionalText,
      "HMAC key of the alert signature",
    ),
  },
  email: {
    smtpUrl: setting(
      "SMTP_URL",
      optionalText,
      "`smtp://user:pass@host:587` (STARTTLS, required) or `smtps://user:pass@host:465` " +
        "(implicit TLS); the certificate is verified",
      {
        finish: checkSmtpUrl,
        unsetMeans: "messages are written to `DATA_DIR/mail/*.eml` in " +
          "development; email endpoints answer 503 in production",
      },
    ),
    from: setting(
      "SMTP_FROM",
      text("citadel <no-reply@citadel.localhost>"),
      "`From` of every message",
    ),
    caFile: setting(
      "SMTP_CA_FILE",
      optionalText,
      "PEM file of an extra CA trusted for the SMTP server's certificate",
    ),
    allowInsecure: setting(
      "SMTP_ALLOW_INSECURE",
      bool(false),
      "`true` sends without TLS (a local test server only); refused in production",
    ),
    publicUrl: setting(
      "PUBLIC_URL",
      optionalText,
      "where users reach citadel, the base of links in messages; required in production " +
        "with `SMTP_URL`, and `https://` there",
      { finish: linkUrlChecker("PUBLIC_URL", "https://auth.example.com") },
    ),
    linkBaseUrl: setting(
      "EMAIL_LINK_BASE_URL",
      optionalText,
      "base of the links in messages (`.../verify-email#token=...`), so an app can point them " +
        "at its own pages; `https://` in production",
      {
        unsetMeans: "`${PUBLIC_URL}/account`",
        finish: linkUrlChecker("EMAIL_LINK_BASE_URL", "https://app.example.com/account"),
      },
    ),
    verification: setting(
      "EMAIL_VERIFICATION",
      oneOf(["off", "optional", "required"], "optional"),
      "`required`: an unverified account's right password gets 403 `email_not_verified`; " +
        "`optional`: unverified accounts sign in; `off`: no verification messages",
    ),
    securityNotices: setting(
      "EMAIL_SECURITY_NOTICES",
      bool(true),
      "email the owner when their password, email or MFA changes, when they sign in from a " +
        "new network, when an API key is created and when a passkey is added or removed",
    ),
  },
};

/**
 * Everything citadel can be configured with, derived from {@linkcode SETTINGS}; built only
 * by `parseConfig` in `config.ts`, which re-exports it.
 */
export type Config = ConfigOf<typeof SETTINGS> & {
  /** The providers of OAUTH_PROVIDERS, built from their `OAUTH_<NAME>_*` variables. */
  oauthProviders: readonly OAuthProviderConfig[];
};

/**
 * ALLOWED_HOSTS: each entry a host name (a leading dot for its subdomains too), in the form
 * the host guard compares: lower case, port and trailing dot dropped.
 */
function parseAllowedHosts(entries: string[], problems: ConfigProblem[]): string[] {
  return entries.map((entry) => {
    const host = allowedHostEntry(entry);
    if (host !== undefined) return host;
    problems.push({
      variable: "ALLOWED_HOSTS",
      problem: `"${entry}" is not a host name`,
      fix: "List the host names clients use, without scheme or path, e.g. " +
        "ALLOWED_HOSTS=api.example.com,.example.org",
    });
    // Kept so that production does not also call the list empty; parseConfig throws anyway.
    return entry;
  });
}

/** ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS: base64 (standard or url-safe) of 32 bytes. */
function checkFieldKey(variable: string) {
  return (text: string | undefined, problems: ConfigProblem[]): string | undefined => {
    if (text === undefined) return undefined;
    const parsed = parseFieldKey(text);
    if ("problem" in parsed) {
      problems.push({
        variable,
        problem: `must be ${FIELD_KEY_BYTES} bytes in base64, but it ${parsed.problem}`,
        fix: `Generate one with \`openssl rand -base64 ${FIELD_KEY_BYTES}\` and set ${variable}`,
      });
    }
    return text;
  };
}

/** `text` as a URL, or undefined when it is not one. */
function parsedUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** SMTP_URL: smtp:// (STARTTLS) or smtps:// (implicit TLS), with a host. */
function checkSmtpUrl(url: string | undefined, problems: ConfigProblem[]): string | undefined {
  if (url === undefined) return url;
  const parsed = parsedUrl(url);
  if (!parsed || !["smtp:", "smtps:"].includes(parsed.protocol) || !parsed.hostname) {
    problems.push({
      variable: "SMTP_URL",
      problem: "must be smtp://[user:pass@]host[:587] or smtps://[user:pass@]host[:465]",
      fix: "Set SMTP_URL=smtp://user:password@mail.example.com:587, or unset it",
    });
  }
  return url;
}

/** PUBLIC_URL and EMAIL_LINK_BASE_URL: absolute http(s) URLs without a query or fragment. */
function linkUrlChecker(variable: string, example: string) {
  return (url: string | undefined, problems: ConfigProblem[]): string | undefined => {
    if (url === undefined) return url;
    const parsed = parsedUrl(url);
    if (
      !parsed || !["http:", "https:"].includes(parsed.protocol) || !parsed.hostname ||
      parsed.search || parsed.hash || parsed.username || parsed.password
    ) {
      problems.push({
        variable,
        problem: "must be an absolute http(s) URL without credentials, query or fragment",
        fix: `Set ${variable}=${example}`,
      });
    }
    return url;
  };
}

/** ALERT_WEBHOOK_URL: alerts are POSTed over http(s) only. */
function checkWebhookUrl(url: string | undefined, problems: ConfigProblem[]): string | undefined {
  if (url !== undefined && !/^https?:\/\//.test(url)) {
    problems.push({
      variable: "ALERT_WEBHOOK_URL",
      problem: "must be an http(s) URL",
      fix: "Set ALERT_WEBHOOK_URL=https://hooks.example.com/citadel, or unset it",
    });
  }
  return url;
}

/** RATE_LIMIT_ROUTES: `/path=requests-per-minute` entries, comma-separated. */
function parseRouteOverrides(
  raw: string | undefined,
  problems: ConfigProblem[],
): Record<string, number> {
  const overrides: Record<string, number> = {};
  for (const entry of (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [path, limit] = entry.split("=");
    const n = Number(limit);
    if (!path?.startsWith("/") || !Number.isInteger(n) || n < 1) {
      problems.push({
        variable: "RATE_LIMIT_ROUTES",
        problem: `entry "${entry}" is not of the form /path=requests-per-minute`,
        fix: "Use e.g. RATE_LIMIT_ROUTES=/api/v1/me=120,/api/v1/api-keys=30",
      });
      continue;
    }
    overrides[path] = n;
  }
  return overrides;
}
