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
import { createFieldCipher, type FieldCipher, parseFieldKey } from "../lib/field_crypto.ts";
import { createJwtService, hs256KeySet, type KeySet, type KeySource } from "./jwt.ts";
import { createKeyRing, type KeyRing } from "./key_ring.ts";
import { createPepper } from "./pepper.ts";
import { createSigningKeys } from "./signing_keys.ts";
import { createKeyAdmin } from "./key_admin.ts";
import { createDeviceTokens } from "./device_tokens.ts";
import { ACCOUNT_KEY_PREFIX, createLoginService } from "./login.ts";
import { createLoginGuard, type LoginGuardLimits } from "./login_guard.ts";
import { createMfaService } from "./mfa.ts";
import { createMfaLogin } from "./mfa_login.ts";
import { loggedInFrom } from "./login_networks.ts";
import { createRevocationList } from "./revocation_list.ts";
import { createSessionEnds } from "./session_ends.ts";
import { createSessionService, type SessionSettings } from "./sessions.ts";
import { createUserCache } from "./user_cache.ts";
import { createConsoleSessions } from "./console_sessions.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { Logger } from "../platform/logger.ts";
import { createAccountUnlock } from "./account_unlock.ts";
import { createEmailChange } from "./email_change.ts";
import { createEmailTokens } from "./email_tokens.ts";
import { outboxCipher, outboxDepth } from "./email_outbox.ts";
import { createEmailVerification } from "./email_verification.ts";
import { createMail, type MailConfig, mailSettings } from "./mail.ts";
import { createPasswordReset } from "./password_reset.ts";
import { createSecurityNotices } from "./security_notices.ts";
import { createPasskeys } from "./passkeys.ts";
import { relyingPartyResolver, type RelyingPartySettings } from "./relying_party.ts";
import type { OAuthProviderConfig } from "../lib/oauth_providers.ts";
import { createOAuthFlows } from "./oauth_flows.ts";
import { createOAuthIdentities } from "./oauth_identities.ts";

/** The settings the services read; `Config` fits. */
export interface ServicesSettings extends SessionSettings, ApiKeySettings {
  jwt: {
    algorithm: "HS256" | "EdDSA" | "ES256";
    publishDelaySeconds: number;
    secret?: string;
    previousSecret?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  hashPepper?: string;
  encryption: { key?: string; previousKey?: string };
  loginGuard: LoginGuardLimits & { retentionDays: number };
  mfa: { issuer: string; stepUpMaxAgeSeconds: number; requireForAdmins: boolean };
  registrationEnabled: boolean;
  passwordMinLength: number;
  webauthn: Pick<RelyingPartySettings, "rpId" | "rpName" | "origins">;
  oauth: { redirectUrls: string[]; storeTokens: boolean };
  oauthProviders: readonly OAuthProviderConfig[];
}

/** The settings the services read, the email ones included; `Config` fits. */
export type AllServicesSettings = ServicesSettings & MailConfig;

/** What {@linkcode createServices} builds on; `AppDeps` fits. */
export interface ServicesDeps {
  config: AllServicesSettings;
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  counters: CounterStore;
  alerts: Alerter;
  /** Where failures off the request's own path are logged (an unlock link not queued). */
  logger?: Logger;
  /**
   * The Prometheus instruments the services record into (logins, guard blocks, refresh reuse,
   * API-key outcomes, audit events) and the outbox depth read at scrape time.
   */
  metrics?: Metrics;
}

/**
 * The Metrics whose outbox depth is already read at scrape time: services may be built more
 * than once per isolate (start-up, then the app), and one query per scrape is enough.
 */
const depthCollected = new WeakSet<Metrics>();

/** The services built once per app from its deps. */
export function createServices(deps: ServicesDeps) {
  const { config, db, clock, metrics } = deps;
  const secret = config.jwt.secret;
  if (!secret) throw new Error("JWT_SECRET_KEY must be resolved before the app is built");
  const audit: Audit = (executor, event) => recordAudit(executor, event, { clock, metrics });
  if (metrics && !depthCollected.has(metrics)) {
    depthCollected.add(metrics);
    metrics.collect(async () => metrics.emailOutboxDepth.set([], await outboxDepth(db)));
  }
  const fieldCipher = lazyFieldCipher(config.encryption);
  const signingKeys = createSigningKeys({
    db,
    clock,
    cipher: fieldCipher,
    audit,
    accessTtlSeconds: config.jwt.accessTtlSeconds,
    publishDelaySeconds: config.jwt.publishDelaySeconds,
  });
  const { algorithm } = config.jwt;
  const keyRing: KeyRing | undefined = algorithm === "HS256"
    ? undefined
    : createKeyRing({ keys: signingKeys, clock, algorithm });
  const hs256 = algorithm === "HS256" ? hs256KeySet(secret, config.jwt.previousSecret) : undefined;
  let hs256Set: KeySet | undefined;
  void hs256?.then((set) => hs256Set = set, () => {});
  const hs256Source = () => hs256Set ?? hs256!;
  const keys: KeySource = keyRing ?? { current: hs256Source, forSigning: hs256Source };
  const jwt = createJwtService({
    keys,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
  const pepper = createPepper({
    hashPepper: config.hashPepper,
    jwtSecret: secret,
    previousJwtSecret: config.jwt.previousSecret,
  });
  const revocations = createRevocationList({
    db,
    clock,
    accessTtlMs: config.jwt.accessTtlSeconds * 1000,
  });
  const sessions = createSessionService({ db, clock, config, jwt, pepper, revocations, metrics });
  const users = createUserCache({ db, clock });
  let sealing: Promise<FieldCipher> | undefined;
  const mail = createMail({
    settings: mailSettings(config),
    clock,
    counters: deps.counters,
    cipher: () => sealing ??= outboxCipher(pepper),
  });
  const notices = createSecurityNotices(mail);
  const emailTokens = createEmailTokens({ db, clock, pepper });
  const devices = createDeviceTokens({ pepper, clock });
  const apiKeys = createApiKeyService({ db, clock, config, pepper, audit, notices, metrics });
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
  const mfa = createMfaService({
    db,
    clock,
    cipher: fieldCipher,
    pepper,
    audit,
    alerts: deps.alerts,
    sessions,
    users,
    issuer: config.mfa.issuer,
    notices,
  });
  const passkeys = createPasskeys({
    db,
    clock,
    pepper,
    audit,
    alerts: deps.alerts,
    relyingParty: relyingPartyResolver({
      ...config.webauthn,
      publicUrl: config.email.publicUrl,
      fromRequest: config.appEnv !== "production",
    }),
    changed: (userId) => users.forget(userId),
    notices,
    sessions,
  });
  const mfaLogin = createMfaLogin({
    db,
    clock,
    pepper,
    counters: deps.counters,
    audit,
    alerts: deps.alerts,
    mfa,
    passkeys,
    // Built below; called only once a request completes a login.
    finish: (...args) => login.finish(...args),
    metrics,
  });
  const login = createLoginService({
    db,
    clock,
    hasher: deps.hasher,
    sessions,
    guard: loginGuard,
    audit,
    alerts: deps.alerts,
    devices,
    challenges: mfaLogin,
    passkeys,
    requireVerifiedEmail: mail.settings.verification === "required",
    notices,
    onEmailBudgetSpent: (login, actor) => unlock.offer(login, actor),
    metrics,
  });
  const unlock = createAccountUnlock({
    db,
    counters: deps.counters,
    mail,
    tokens: emailTokens,
    audit,
    devices,
    windowMinutes: config.loginGuard.windowMinutes,
    logger: deps.logger,
  });
  const verification = createEmailVerification({
    db,
    clock,
    mail,
    tokens: emailTokens,
    audit,
    users,
  });
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
    mail,
    verification,
    tokens: emailTokens,
    notices,
    confirmPassword: (user, password, actor, method) =>
      login.confirm(user, password, actor, method),
  });
  const passwordReset = createPasswordReset({
    db,
    clock,
    hasher: deps.hasher,
    mail,
    tokens: emailTokens,
    audit,
    sessions,
    guard: loginGuard,
    mfa,
    apiKeys,
    users,
    passwordMinLength: config.passwordMinLength,
  });
  const emailChange = createEmailChange({
    db,
    clock,
    confirmPassword: (user, password, actor, method) =>
      login.confirm(user, password, actor, method),
    mail,
    tokens: emailTokens,
    audit,
    notices,
    users,
  });
  const oauthFlows = createOAuthFlows({
    db,
    clock,
    pepper,
    audit,
    cipher: fieldCipher,
    providers: config.oauthProviders,
    redirectUrls: config.oauth.redirectUrls,
    storeTokens: config.oauth.storeTokens,
  });
  const oauthIdentities = createOAuthIdentities({
    db,
    clock,
    pepper,
    audit,
    cipher: fieldCipher,
    users,
    providers: config.oauthProviders,
    registrationEnabled: config.registrationEnabled,
    requireVerifiedEmail: mail.settings.verification === "required",
    finish: (...args) => login.finish(...args),
    challenges: mfaLogin,
    passkeys,
    metrics,
  });
  const accountAdmin = createAccountAdmin({ db, clock, sessions, audit, users });
  const sessionEnds = createSessionEnds({ db, sessions, apiKeys, audit });
  const consoleSessions = createConsoleSessions({ db, clock, pepper, sessions });
  return {
    jwt,
    keyRing,
    keyAdmin: createKeyAdmin({ ...config.jwt, secret }, { db, clock, signingKeys, keyRing }),
    fieldCipher,
    pepper,
    revocations,
    sessions,
    apiKeys,
    loginGuard,
    login,
    mfa,
    mfaLogin,
    passkeys,
    audit,
    users,
    accounts,
    accountAdmin,
    sessionEnds,
    consoleSessions,
    mail,
    verification,
    passwordReset,
    emailChange,
    unlock,
    oauthFlows,
    oauthIdentities,
  };
}

export type Services = ReturnType<typeof createServices>;

/**
 * The field cipher, built on first use: an HS256 installation with nothing encrypted never
 * needs ENCRYPTION_KEY. Without it the first use fails with the fix in the message.
 */
function lazyFieldCipher(
  encryption: { key?: string; previousKey?: string },
): () => Promise<FieldCipher> {
  let built: Promise<FieldCipher> | undefined;
  const bytes = (text: string) => {
    const parsed = parseFieldKey(text);
    if ("problem" in parsed) throw new Error(`ENCRYPTION_KEY ${parsed.problem}`);
    return parsed.key;
  };
  return () =>
    built ??= (async () => {
      if (!encryption.key) {
        throw new Error(
          "ENCRYPTION_KEY is not set, but a secret field must be encrypted or decrypted: " +
            "set ENCRYPTION_KEY (`openssl rand -base64 32`)",
        );
      }
      return await createFieldCipher({
        current: bytes(encryption.key),
        previous: encryption.previousKey ? bytes(encryption.previousKey) : undefined,
      });
    })();
}
