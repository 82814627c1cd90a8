/**
 * The composition of the domain services: built once per app from the deps and the
 * settings they read. It takes its own {@linkcode ServicesDeps}, not the app's types or
 * the configuration module; `AppDeps` (whose `config` is the whole `Config`) fits it,
 * so `createApp` hands its deps over as they are.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import { createAccountAdmin } from "./account_admin.ts";
import { createAccountService } from "./accounts.ts";
import type { Alerter } from "./alerts.ts";
import { type ApiKeySettings, createApiKeyService } from "./api_keys.ts";
import { type Audit, recordAudit } from "./audit.ts";
import { derivePepperKey } from "../lib/crypto.ts";
import { lazyJwtService } from "./jwt.ts";
import { createDeviceTokens } from "./device_tokens.ts";
import { ACCOUNT_KEY_PREFIX, createLoginService } from "./login.ts";
import { createLoginGuard, type LoginGuardLimits } from "./login_guard.ts";
import { loggedInFrom } from "./login_networks.ts";
import { createRevocationList } from "./revocation_list.ts";
import { createSessionEnds } from "./session_ends.ts";
import { createSessionService, type SessionSettings } from "./sessions.ts";
import { createUserCache } from "./user_cache.ts";

/** The settings the services read; `Config` fits. */
export interface ServicesSettings extends SessionSettings, ApiKeySettings {
  jwt: {
    secret?: string;
    previousSecret?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  hashPepper?: string;
  loginGuard: LoginGuardLimits & { retentionDays: number };
  registrationEnabled: boolean;
  passwordMinLength: number;
}

/** What {@linkcode createServices} builds on; `AppDeps` fits. */
export interface ServicesDeps {
  config: ServicesSettings;
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  counters: CounterStore;
  alerts: Alerter;
}

/** The services built once per app from its deps. */
export function createServices(deps: ServicesDeps) {
  const { config, db, clock } = deps;
  const secret = config.jwt.secret;
  if (!secret) throw new Error("JWT_SECRET_KEY must be resolved before the app is built");
  const jwt = lazyJwtService({
    secret,
    previousSecret: config.jwt.previousSecret,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
  const pepperKey = derivePepperKey(config.hashPepper, secret);
  const revocations = createRevocationList({
    db,
    clock,
    accessTtlMs: config.jwt.accessTtlSeconds * 1000,
  });
  const sessions = createSessionService({ db, clock, config, jwt, pepperKey, revocations });
  const audit: Audit = (executor, event) => recordAudit(executor, event, { clock });
  const apiKeys = createApiKeyService({ db, clock, config, pepperKey, audit });
  const retentionMs = config.loginGuard.retentionDays * 86_400_000;
  const loginGuard = createLoginGuard({
    counters: deps.counters,
    clock,
    limits: config.loginGuard,
    // Only an existing account has a history; a login name that matches none has not.
    hasSuccessHistory: (account, network) =>
      account.startsWith(ACCOUNT_KEY_PREFIX)
        ? loggedInFrom(
          db,
          account.slice(ACCOUNT_KEY_PREFIX.length),
          network,
          clock.now() - retentionMs,
        )
        : Promise.resolve(false),
  });
  const login = createLoginService({
    db,
    clock,
    hasher: deps.hasher,
    sessions,
    guard: loginGuard,
    audit,
    alerts: deps.alerts,
    devices: createDeviceTokens({ pepperKey, clock }),
  });
  const users = createUserCache({ db, clock });
  const accounts = createAccountService({
    db,
    clock,
    hasher: deps.hasher,
    sessions,
    apiKeys,
    audit,
    users,
    registrationEnabled: config.registrationEnabled,
    passwordMinLength: config.passwordMinLength,
  });
  const accountAdmin = createAccountAdmin({ db, clock, sessions, audit, users });
  const sessionEnds = createSessionEnds({ db, sessions, apiKeys, audit });
  return {
    jwt,
    pepperKey,
    revocations,
    sessions,
    apiKeys,
    loginGuard,
    login,
    audit,
    users,
    accounts,
    accountAdmin,
    sessionEnds,
  };
}

export type Services = ReturnType<typeof createServices>;
