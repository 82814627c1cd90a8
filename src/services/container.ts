import type { AppDeps } from "../app_types.ts";
import type { Db } from "../db/schema.ts";
import { createApiKeyService } from "./api_keys.ts";
import { type AuditEventInput, recordAudit } from "./audit.ts";
import { derivePepperKey } from "./crypto.ts";
import { lazyJwtService } from "./jwt.ts";
import { createLoginService, loginHistory } from "./login.ts";
import { createLoginGuard } from "./login_guard.ts";
import { createRevocationList } from "./revocation_list.ts";
import { createSessionService } from "./sessions.ts";
import { createUserCache } from "./user_cache.ts";

/** The services built once per app from its deps. */
export function createServices(deps: AppDeps) {
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
  const history = loginHistory(db);
  const loginGuard = createLoginGuard({
    counters: deps.counters,
    clock,
    limits: config.loginGuard,
    hasSuccessHistory: (email, ipKey) => history.has(email, ipKey),
  });
  const login = createLoginService({
    db,
    clock,
    hasher: deps.hasher,
    sessions,
    guard: loginGuard,
    audit,
    alerts: deps.alerts,
    history,
  });
  const users = createUserCache({ db, clock });
  return { jwt, pepperKey, revocations, sessions, apiKeys, loginGuard, login, audit, users };
}

export type Services = ReturnType<typeof createServices>;

/**
 * Appends an audit event. Pass the transaction of the change it records (never the
 * plain db from inside a transaction: the local driver has one connection).
 */
export type Audit = (executor: Db, event: AuditEventInput) => Promise<unknown>;
