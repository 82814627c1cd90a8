import * as z from "zod";
import { productionViolations } from "./production_rules.ts";
import { trustedProxyProblem } from "./lib/client_ip.ts";

/** The runtime environment; `production` turns on fail-closed checks. */
export type AppEnv = "development" | "production" | "test";
export type RateLimitStoreKind = "memory" | "database" | "redis";

/** Everything citadel can be configured with; built only by {@linkcode parseConfig}. */
export interface Config {
  appEnv: AppEnv;
  host: string;
  port: number;
  workers: number;
  databaseUrl: string;
  databaseAuthToken?: string;
  databaseEncryptionKey?: string;
  migrateOnStart: boolean;
  jwt: {
    secret?: string;
    previousSecret?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  refresh: { ttlSeconds: number; idleSeconds: number; graceSeconds: number; cookie: boolean };
  hashPepper?: string;
  superAdmin: { username?: string; password?: string };
  registrationEnabled: boolean;
  corsOrigins: string[];
  allowedHosts: string[];
  trustedProxies: string[];
  /** The forwarding header TRUSTED_PROXIES maintain: X-Forwarded-For or RFC 7239 Forwarded. */
  trustedProxyHeader: "x-forwarded-for" | "forwarded";
  debug: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  logDir?: string;
  logMaxBytes: number;
  logBackups: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxStringLength: number;
  rateLimit: {
    enabled: boolean;
    store: RateLimitStoreKind;
    redisUrl?: string;
    authPerMinute: number;
    authPerHour: number;
    authPerDay: number;
    apiPerMinute: number;
    routeOverrides: Record<string, number>;
  };
  loginGuard: {
    maxAttempts: number;
    windowMinutes: number;
    ipMaxAttempts: number;
    emailMaxAttempts: number;
    retentionDays: number;
  };
  pathGuard: {
    sensitiveHits: number;
    notFoundHits: number;
    windowMinutes: number;
    blockMinutes: number;
  };
  argon2: { memoryKib: number; timeCost: number; parallelism: number };
  passwordMinLength: number;
  apiKeys: {
    maxLifetimeDays: number;
    rotationOverlapHours: number;
    perMinute: number;
    perUserMax: number;
  };
  tls: {
    certFile?: string;
    keyFile?: string;
    httpRedirectPort?: number;
    allowInsecureHttp: boolean;
    hstsPreload: boolean;
  };
  crossOriginResourcePolicy: "same-origin" | "same-site";
  alerts: { webhookUrl?: string; webhookSecret?: string };
}

/** One problem with one variable: what is wrong and how to fix it. */
export interface ConfigProblem {
  variable: string;
  problem: string;
  fix: string;
}

/** Thrown by {@linkcode parseConfig} with every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.problem}. ${p.fix}`).join("\n"));
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const optionalText = z.string().trim().optional().transform((v) => v === "" ? undefined : v);
const bool = (fallback: boolean) =>
  z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "must be true or false",
  }).optional().transform((v) =>
    v === undefined ? fallback : ["true", "1", "yes", "on"].includes(v)
  );
const int = (fallback: number, min: number, max: number) =>
  z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
const list = z.string().optional().transform((v) =>
  (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
);

const schema = z.object({
  APP_ENV: z.enum(["development", "production", "test"], {
    error: "must be development, production or test",
  }).default("development"),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  PORT: int(8000, 0, 65535),
  WORKERS: int(0, 0, 256),
  DATABASE_URL: z.string().trim().default("file:./data/citadel.db").refine(
    (v) => v === ":memory:" || /^(file|libsql|https?|wss?):/.test(v),
    "must start with file:, libsql://, https:// or be :memory:",
  ),
  DATABASE_AUTH_TOKEN: optionalText,
  DATABASE_ENCRYPTION_KEY: optionalText,
  MIGRATE_ON_START: bool(true),
  JWT_SECRET_KEY: optionalText,
  JWT_SECRET_KEY_PREVIOUS: optionalText,
  JWT_ISSUER: z.string().trim().min(1).default("citadel"),
  JWT_AUDIENCE: z.string().trim().min(1).default("citadel-api"),
  ACCESS_TOKEN_TTL: int(900, 30, 86_400),
  REFRESH_TOKEN_TTL: int(30 * 86_400, 60, 366 * 86_400),
  REFRESH_TOKEN_IDLE_TTL: int(7 * 86_400, 60, 366 * 86_400),
  REFRESH_GRACE_SECONDS: int(10, 0, 300),
  REFRESH_COOKIE: bool(false),
  HASH_PEPPER: optionalText,
  SUPER_ADMIN_USERNAME: optionalText,
  SUPER_ADMIN_PASSWORD: optionalText,
  REGISTRATION_ENABLED: bool(true),
  CORS_ORIGINS: list,
  ALLOWED_HOSTS: list,
  TRUSTED_PROXIES: list,
  TRUSTED_PROXY_HEADER: z.enum(["x-forwarded-for", "forwarded"], {
    error: "must be x-forwarded-for or forwarded",
  }).default("x-forwarded-for"),
  DEBUG: bool(false),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], {
    error: "must be debug, info, warn or error",
  }).default("info"),
  LOG_DIR: optionalText,
  LOG_MAX_BYTES: int(10 * 1024 * 1024, 1024, 2 ** 40),
  LOG_BACKUPS: int(5, 0, 100),
  MAX_BODY_BYTES: int(1024 * 1024, 256, 100 * 1024 * 1024),
  MAX_JSON_DEPTH: int(32, 1, 1000),
  MAX_STRING_LENGTH: int(64 * 1024, 64, 10 * 1024 * 1024),
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_STORE: z.enum(["memory", "database", "redis"], {
    error: "must be memory, database or redis",
  }).default("memory"),
  REDIS_URL: optionalText,
  RATE_LIMIT_AUTH_PER_MINUTE: int(10, 1, 1e9),
  RATE_LIMIT_AUTH_PER_HOUR: int(50, 1, 1e9),
  RATE_LIMIT_AUTH_PER_DAY: int(200, 1, 1e9),
  RATE_LIMIT_API_PER_MINUTE: int(600, 1, 1e9),
  RATE_LIMIT_ROUTES: optionalText,
  LOGIN_MAX_ATTEMPTS: int(5, 1, 1000),
  LOGIN_WINDOW_MINUTES: int(15, 1, 1440),
  LOGIN_IP_MAX_ATTEMPTS: int(20, 1, 100_000),
  LOGIN_EMAIL_MAX_ATTEMPTS: int(100, 1, 1_000_000),
  LOGIN_ATTEMPT_RETENTION_DAYS: int(30, 1, 3650),
  SENSITIVE_PATH_MAX_HITS: int(5, 1, 10_000),
  NOT_FOUND_MAX_HITS: int(25, 1, 100_000),
  PATH_GUARD_WINDOW_MINUTES: int(10, 1, 1440),
  PATH_GUARD_BLOCK_MINUTES: int(10, 1, 10_080),
  ARGON2_MEMORY_KIB: int(19_456, 8, 4_194_304),
  ARGON2_TIME_COST: int(2, 1, 100),
  ARGON2_PARALLELISM: int(1, 1, 64),
  PASSWORD_MIN_LENGTH: int(12, 8, 1024),
  API_KEY_MAX_LIFETIME_DAYS: int(365, 1, 3650),
  API_KEY_ROTATION_OVERLAP_HOURS: int(24, 0, 8760),
  API_KEY_RATE_LIMIT_PER_MINUTE: int(600, 1, 1e9),
  API_KEYS_PER_USER_MAX: int(50, 1, 100_000),
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  HTTP_REDIRECT_PORT: int(0, 0, 65535),
  ALLOW_INSECURE_HTTP: bool(false),
  HSTS_PRELOAD: bool(false),
  CROSS_ORIGIN_RESOURCE_POLICY: z.enum(["same-origin", "same-site"], {
    error: "must be same-origin or same-site",
  }).default("same-origin"),
  ALERT_WEBHOOK_URL: optionalText,
  ALERT_WEBHOOK_SECRET: optionalText,
});

type Raw = z.output<typeof schema>;

function fixFor(variable: string): string {
  return `Correct ${variable} or unset it to use the default`;
}

function parseRouteOverrides(raw: string | undefined, problems: ConfigProblem[]) {
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

function consistencyProblems(raw: Raw): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (Boolean(raw.TLS_CERT_FILE) !== Boolean(raw.TLS_KEY_FILE)) {
    problems.push({
      variable: raw.TLS_CERT_FILE ? "TLS_KEY_FILE" : "TLS_CERT_FILE",
      problem: "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
      fix: "Set both to PEM files, or neither",
    });
  }
  if (raw.RATE_LIMIT_STORE === "redis" && !raw.REDIS_URL) {
    problems.push({
      variable: "REDIS_URL",
      problem: "is required when RATE_LIMIT_STORE=redis",
      fix: "Set REDIS_URL=redis://host:6379 or choose RATE_LIMIT_STORE=database",
    });
  }
  if (raw.REDIS_URL && !/^rediss?:\/\/[^/]/.test(raw.REDIS_URL)) {
    problems.push({
      variable: "REDIS_URL",
      problem: "must start with redis:// or rediss://",
      fix: "Set REDIS_URL=redis://[user:password@]host:6379[/db]",
    });
  }
  for (const entry of raw.TRUSTED_PROXIES) {
    const problem = trustedProxyProblem(entry);
    if (problem) {
      problems.push({
        variable: "TRUSTED_PROXIES",
        problem,
        fix: "List proxy addresses or CIDR ranges, e.g. TRUSTED_PROXIES=10.0.0.0/8,::1",
      });
    }
  }
  for (const origin of raw.CORS_ORIGINS) {
    if (origin === "*") continue;
    let valid = false;
    try {
      const url = new URL(origin);
      valid = url.origin === origin && (url.protocol === "https:" || url.protocol === "http:");
    } catch { /* reported below */ }
    if (!valid) {
      problems.push({
        variable: "CORS_ORIGINS",
        problem: `"${origin}" is not an exact origin (scheme://host[:port], no path)`,
        fix: "List origins like https://app.example.com, separated by commas",
      });
    }
  }
  if (raw.HTTP_REDIRECT_PORT && !raw.TLS_CERT_FILE) {
    problems.push({
      variable: "HTTP_REDIRECT_PORT",
      problem: "redirects to HTTPS, which is served only with TLS_CERT_FILE and TLS_KEY_FILE",
      fix:
        "Set TLS_CERT_FILE and TLS_KEY_FILE, or unset HTTP_REDIRECT_PORT and redirect at your proxy",
    });
  }
  if (raw.ALERT_WEBHOOK_URL && !raw.ALERT_WEBHOOK_SECRET) {
    problems.push({
      variable: "ALERT_WEBHOOK_SECRET",
      problem: "is required when ALERT_WEBHOOK_URL is set",
      fix: "Generate one with `citadel secret` and set ALERT_WEBHOOK_SECRET",
    });
  }
  if (raw.JWT_SECRET_KEY_PREVIOUS && raw.JWT_SECRET_KEY_PREVIOUS === raw.JWT_SECRET_KEY) {
    problems.push({
      variable: "JWT_SECRET_KEY_PREVIOUS",
      problem: "must differ from JWT_SECRET_KEY",
      fix: "Set it to the secret being retired, or unset it",
    });
  }
  return problems;
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
  const raw = result.data;
  const problems = consistencyProblems(raw);
  const routeOverrides = parseRouteOverrides(raw.RATE_LIMIT_ROUTES, problems);
  const config: Config = {
    appEnv: raw.APP_ENV,
    host: raw.HOST,
    port: raw.PORT,
    workers: raw.WORKERS,
    databaseUrl: raw.DATABASE_URL,
    databaseAuthToken: raw.DATABASE_AUTH_TOKEN,
    databaseEncryptionKey: raw.DATABASE_ENCRYPTION_KEY,
    migrateOnStart: raw.MIGRATE_ON_START,
    jwt: {
      secret: raw.JWT_SECRET_KEY,
      previousSecret: raw.JWT_SECRET_KEY_PREVIOUS,
      issuer: raw.JWT_ISSUER,
      audience: raw.JWT_AUDIENCE,
      accessTtlSeconds: raw.ACCESS_TOKEN_TTL,
    },
    refresh: {
      ttlSeconds: raw.REFRESH_TOKEN_TTL,
      idleSeconds: raw.REFRESH_TOKEN_IDLE_TTL,
      graceSeconds: raw.REFRESH_GRACE_SECONDS,
      cookie: raw.REFRESH_COOKIE,
    },
    hashPepper: raw.HASH_PEPPER,
    superAdmin: { username: raw.SUPER_ADMIN_USERNAME, password: raw.SUPER_ADMIN_PASSWORD },
    registrationEnabled: raw.REGISTRATION_ENABLED,
    corsOrigins: raw.CORS_ORIGINS,
    allowedHosts: raw.ALLOWED_HOSTS.map((h) => h.toLowerCase()),
    trustedProxies: raw.TRUSTED_PROXIES,
    trustedProxyHeader: raw.TRUSTED_PROXY_HEADER,
    debug: raw.DEBUG,
    logLevel: raw.DEBUG ? "debug" : raw.LOG_LEVEL,
    logDir: raw.LOG_DIR,
    logMaxBytes: raw.LOG_MAX_BYTES,
    logBackups: raw.LOG_BACKUPS,
    maxBodyBytes: raw.MAX_BODY_BYTES,
    maxJsonDepth: raw.MAX_JSON_DEPTH,
    maxStringLength: raw.MAX_STRING_LENGTH,
    rateLimit: {
      enabled: raw.RATE_LIMIT_ENABLED,
      store: raw.RATE_LIMIT_STORE,
      redisUrl: raw.REDIS_URL,
      authPerMinute: raw.RATE_LIMIT_AUTH_PER_MINUTE,
      authPerHour: raw.RATE_LIMIT_AUTH_PER_HOUR,
      authPerDay: raw.RATE_LIMIT_AUTH_PER_DAY,
      apiPerMinute: raw.RATE_LIMIT_API_PER_MINUTE,
      routeOverrides,
    },
    loginGuard: {
      maxAttempts: raw.LOGIN_MAX_ATTEMPTS,
      windowMinutes: raw.LOGIN_WINDOW_MINUTES,
      ipMaxAttempts: raw.LOGIN_IP_MAX_ATTEMPTS,
      emailMaxAttempts: raw.LOGIN_EMAIL_MAX_ATTEMPTS,
      retentionDays: raw.LOGIN_ATTEMPT_RETENTION_DAYS,
    },
    pathGuard: {
      sensitiveHits: raw.SENSITIVE_PATH_MAX_HITS,
      notFoundHits: raw.NOT_FOUND_MAX_HITS,
      windowMinutes: raw.PATH_GUARD_WINDOW_MINUTES,
      blockMinutes: raw.PATH_GUARD_BLOCK_MINUTES,
    },
    argon2: {
      memoryKib: raw.ARGON2_MEMORY_KIB,
      timeCost: raw.ARGON2_TIME_COST,
      parallelism: raw.ARGON2_PARALLELISM,
    },
    passwordMinLength: raw.PASSWORD_MIN_LENGTH,
    apiKeys: {
      maxLifetimeDays: raw.API_KEY_MAX_LIFETIME_DAYS,
      rotationOverlapHours: raw.API_KEY_ROTATION_OVERLAP_HOURS,
      perMinute: raw.API_KEY_RATE_LIMIT_PER_MINUTE,
      perUserMax: raw.API_KEYS_PER_USER_MAX,
    },
    tls: {
      certFile: raw.TLS_CERT_FILE,
      keyFile: raw.TLS_KEY_FILE,
      httpRedirectPort: raw.HTTP_REDIRECT_PORT || undefined,
      allowInsecureHttp: raw.ALLOW_INSECURE_HTTP,
      hstsPreload: raw.HSTS_PRELOAD,
    },
    crossOriginResourcePolicy: raw.CROSS_ORIGIN_RESOURCE_POLICY,
    alerts: { webhookUrl: raw.ALERT_WEBHOOK_URL, webhookSecret: raw.ALERT_WEBHOOK_SECRET },
  };
  // Judged on the parsed Config, exactly as `citadel check` judges it.
  if (raw.APP_ENV === "production") {
    for (const rule of productionViolations(config)) {
      problems.push({ variable: rule.variable, problem: rule.message, fix: rule.fix });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
