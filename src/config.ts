/**
 * The only reader of environment variables. Each setting is declared once, in
 * `config_settings.ts`; from those declarations come the schema, the {@linkcode Config}
 * type and the mapping. Here are what reads several variables at once and
 * {@linkcode parseConfig}, which reports every problem with its variable and fix.
 */
import {
  configOf,
  type ConfigProblem,
  listSettings,
  type PlacedSetting,
  schemaOf,
} from "./config_declaration.ts";
import { type Config, SETTINGS } from "./config_settings.ts";
import { productionViolations } from "./production_rules.ts";
import { trustedProxyProblem } from "./lib/client_ip.ts";
import { rpIdCovers } from "./lib/host.ts";
import { oauthProblems, oauthProviders } from "./config_oauth.ts";

export type { Config, ConfigProblem };
/** The runtime environment; `production` turns on fail-closed checks. */
export type AppEnv = Config["appEnv"];
/** Where rate-limit and guard counters live. */
export type RateLimitStoreKind = Config["rateLimit"]["store"];

/** Thrown by {@linkcode parseConfig} with every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.problem}. ${p.fix}`).join("\n"));
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Every declared setting with the config path it fills, in declaration order. */
export function configSettings(): PlacedSetting[] {
  return listSettings(SETTINGS);
}

const schema = schemaOf(SETTINGS);

function fixFor(variable: string): string {
  return `Correct ${variable} or unset it to use the default`;
}

// Rules that read several variables; each single variable is validated by its declaration.
function consistencyProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { tls, rateLimit, alerts, jwt } = config;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    problems.push({
      variable: tls.certFile ? "TLS_KEY_FILE" : "TLS_CERT_FILE",
      problem: "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
      fix: "Set both to PEM files, or neither",
    });
  }
  if (rateLimit.store === "redis" && !rateLimit.redisUrl) {
    problems.push({
      variable: "REDIS_URL",
      problem: "is required when RATE_LIMIT_STORE=redis",
      fix: "Set REDIS_URL=redis://host:6379 or choose RATE_LIMIT_STORE=database",
    });
  }
  if (rateLimit.redisUrl && !/^rediss?:\/\/[^/]/.test(rateLimit.redisUrl)) {
    problems.push({
      variable: "REDIS_URL",
      problem: "must start with redis:// or rediss://",
      fix: "Set REDIS_URL=redis://[user:password@]host:6379[/db]",
    });
  }
  // Address ranges: CIDRs, `loopback`, `private` (the syntax of TRUSTED_PROXIES).
  const ranges: Array<[string, readonly string[], string]> = [
    ["ADMIN_ALLOWED_IPS", config.adminAllowedIps, "the administrators' addresses"],
    ["METRICS_ALLOWED_IPS", config.metrics.allowedIps, "the scrapers' addresses"],
    ["TRUSTED_PROXIES", config.trustedProxies, "proxy addresses"],
  ];
  for (const [variable, entries, what] of ranges) {
    for (const entry of entries) {
      const problem = trustedProxyProblem(entry);
      if (problem) {
        problems.push({
          variable,
          problem,
          fix: `List ${what} or CIDR ranges, e.g. ${variable}=10.0.0.0/8,::1`,
        });
      }
    }
  }
  for (const origin of config.corsOrigins) {
    if (origin === "*") continue;
    if (!isExactOrigin(origin)) {
      problems.push({
        variable: "CORS_ORIGINS",
        problem: `"${origin}" is not an exact origin (scheme://host[:port], no path)`,
        fix: "List origins like https://app.example.com, separated by commas",
      });
    }
  }
  // `*` only in development; production refuses it by its own rule (cors-no-wildcard).
  if (config.appEnv === "test" && config.corsOrigins.includes("*")) {
    problems.push({
      variable: "CORS_ORIGINS",
      problem: "* is only allowed when APP_ENV=development",
      fix: "List exact origins, e.g. CORS_ORIGINS=https://app.example.com",
    });
  }
  if (tls.httpRedirectPort && !tls.certFile) {
    problems.push({
      variable: "HTTP_REDIRECT_PORT",
      problem: "redirects to HTTPS, which is served only with TLS_CERT_FILE and TLS_KEY_FILE",
      fix:
        "Set TLS_CERT_FILE and TLS_KEY_FILE, or unset HTTP_REDIRECT_PORT and redirect at your proxy",
    });
  }
  if (alerts.webhookUrl && !alerts.webhookSecret) {
    problems.push({
      variable: "ALERT_WEBHOOK_SECRET",
      problem: "is required when ALERT_WEBHOOK_URL is set",
      fix: "Generate one with `citadel secret` and set ALERT_WEBHOOK_SECRET",
    });
  }
  problems.push(...webauthnProblems(config), ...oauthProblems(config));
  if (jwt.previousSecret && jwt.previousSecret === jwt.secret) {
    problems.push({
      variable: "JWT_SECRET_KEY_PREVIOUS",
      problem: "must differ from JWT_SECRET_KEY",
      fix: "Set it to the secret being retired, or unset it",
    });
  }
  return problems;
}

/** WEBAUTHN_*: exact origins, and an RP ID that is a host name covering each of them. */
function webauthnProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { rpId, origins } = config.webauthn;
  for (const origin of origins) {
    if (!isExactOrigin(origin)) {
      problems.push({
        variable: "WEBAUTHN_ORIGINS",
        problem: `"${origin}" is not an exact origin (scheme://host[:port], no path)`,
        fix: "List origins like https://app.example.com, separated by commas",
      });
    }
  }
  if (
    rpId !== undefined &&
    !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId)
  ) {
    problems.push({
      variable: "WEBAUTHN_RP_ID",
      problem: `"${rpId}" is not a lower-case host name (no scheme, port or path)`,
      fix: "Set WEBAUTHN_RP_ID to the host users reach citadel at, e.g. auth.example.com",
    });
    return problems;
  }
  const publicUrl = config.email.publicUrl;
  const covered = [
    ...(publicUrl && URL.canParse(publicUrl) ? [new URL(publicUrl).origin] : []),
    ...origins.filter(isExactOrigin),
  ];
  if (covered.length === 0) {
    // An origin that is not one is reported above; no origin at all is this problem.
    if (rpId !== undefined && origins.length === 0) {
      problems.push({
        variable: "WEBAUTHN_RP_ID",
        problem: "has no origin to serve: neither PUBLIC_URL nor WEBAUTHN_ORIGINS is set",
        fix: "Set PUBLIC_URL=https://auth.example.com (or WEBAUTHN_ORIGINS), or unset " +
          "WEBAUTHN_RP_ID",
      });
    }
    return problems;
  }
  const id = rpId ??
    (publicUrl && URL.canParse(publicUrl) ? new URL(publicUrl).hostname : undefined);
  if (id === undefined) {
    problems.push({
      variable: "WEBAUTHN_RP_ID",
      problem: "is required with WEBAUTHN_ORIGINS when PUBLIC_URL is not set",
      fix: "Set PUBLIC_URL (its host becomes the RP ID), or WEBAUTHN_RP_ID",
    });
    return problems;
  }
  for (const origin of covered) {
    if (!rpIdCovers(id, origin)) {
      problems.push({
        variable: "WEBAUTHN_RP_ID",
        problem: `"${id}" does not cover the origin ${origin} (it must be its host or a parent ` +
          "domain of it)",
        fix: "Set WEBAUTHN_RP_ID to a domain every passkey origin shares, e.g. example.com",
      });
    }
  }
  return problems;
}

function isExactOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  return url.origin === origin && (url.protocol === "https:" || url.protocol === "http:");
}

/**
 * Parses and validates configuration from an environment record.
 *
 * Throws {@linkcode ConfigError} listing every problem at once.
 */
export function parseConfig(env: Env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      return { variable, problem: issue.message, fix: fixFor(variable) };
    }));
  }
  const settingProblems: ConfigProblem[] = [];
  const config: Config = {
    ...configOf(SETTINGS, result.data, settingProblems),
    oauthProviders: [],
  };
  config.oauthProviders = oauthProviders(env, config.oauth.providers, settingProblems);
  // DEBUG=true raises the log level whatever LOG_LEVEL says.
  if (config.debug) config.logLevel = "debug";
  const problems = [...consistencyProblems(config), ...settingProblems];
  // Judged on the parsed Config, exactly as `citadel check` judges it.
  if (config.appEnv === "production") {
    for (const rule of productionViolations(config)) {
      problems.push({ variable: rule.variable, problem: rule.message, fix: rule.fix });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
