/**
 * The `citadel admin` command: create an administrator and reset a user's password or second
 * factor from the server's shell.
 */
import { parseArgs } from "node:util";
import * as z from "zod";
import type { Config } from "../config.ts";
import type { Role } from "../db/schema.ts";
import { findUserByLogin, normalizeEmail } from "../db/users_repo.ts";
import { checkPassword } from "../services/password_policy.ts";
import { openCommandRuntime } from "./command_runtime.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { readNewPassword } from "./password_input.ts";
import {
  createAdministrator,
  resetPassword as replacePassword,
} from "../services/account_maintenance.ts";
import { badArgument, usageError } from "./usage_error.ts";
import { createServices } from "../services/container.ts";
import { SYSTEM_ACTOR } from "../services/audit_events.ts";
import { resolveDataDirSecrets } from "./data_dir_secrets.ts";

/** Usage of `citadel admin`, printed by `--help` and after a usage error. */
export const USAGE =
  `usage: citadel admin create --email EMAIL [--name NAME] [--role admin|super_admin]
       citadel admin reset-password --email EMAIL [--revoke-api-keys]
       citadel admin reset-mfa --email EMAIL

The password is read from the terminal (typed twice, not echoed) or, when standard
input is not a terminal, from its first line. It is never taken from the command line.`;

const ADMIN_ROLES: readonly Role[] = ["admin", "super_admin"];

function parse(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      email: { type: "string" },
      name: { type: "string" },
      role: { type: "string" },
      "revoke-api-keys": { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  return { ...values, positionals };
}

/** Checks a new password against the policy; exits 1 listing every violation. */
async function acceptablePassword(
  config: Config,
  user: { email: string; name?: string | null },
): Promise<string> {
  const password = await readNewPassword();
  const errors = await checkPassword(password, {
    email: user.email,
    name: user.name,
    minLength: config.passwordMinLength,
  });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  - ${e.message}`).join("\n");
    throw new ExitError(1, `The password does not meet the password policy:\n${lines}`);
  }
  return password;
}

async function create(options: ReturnType<typeof parse>): Promise<number> {
  const email = options.email?.trim();
  if (options.positionals.length > 1) {
    throw badArgument("admin create", options.positionals[1], USAGE);
  }
  if (options["revoke-api-keys"] !== undefined) {
    throw usageError("admin create", "--revoke-api-keys is not an option of it", USAGE);
  }
  if (!email) throw usageError("admin create", "--email is required", USAGE);
  if (!z.email().safeParse(normalizeEmail(email)).success) {
    throw new ExitError(EXIT_USAGE, `citadel admin create: "${email}" is not an email address`);
  }
  const role = (options.role ?? "admin") as Role;
  if (!ADMIN_ROLES.includes(role)) {
    throw new ExitError(EXIT_USAGE, "citadel admin create: --role must be admin or super_admin");
  }
  const name = options.name?.trim() || null;
  const config = await loadConfig();
  const runtime = await openCommandRuntime(config);
  try {
    const { db, hasher, clock } = runtime.deps;
    if (await findUserByLogin(db, email)) {
      throw new ExitError(1, `A user with the email ${normalizeEmail(email)} already exists`);
    }
    const password = await acceptablePassword(config, { email, name });
    const user = await createAdministrator({ db, hasher, clock }, { email, name, role, password });
    console.log(`Created ${role} ${user.email} (id ${user.id})`);
    return 0;
  } finally {
    await runtime.close();
  }
}

async function resetPassword(options: ReturnType<typeof parse>): Promise<number> {
  const login = options.email?.trim();
  if (options.positionals.length > 1) {
    throw badArgument("admin reset-password", options.positionals[1], USAGE);
  }
  const extra = options.name !== undefined ? "--name" : options.role !== undefined ? "--role" : "";
  if (extra) throw usageError("admin reset-password", `${extra} is not an option of it`, USAGE);
  if (!login) throw usageError("admin reset-password", "--email is required", USAGE);
  const config = await loadConfig();
  const runtime = await openCommandRuntime(config);
  try {
    const { db, hasher, clock } = runtime.deps;
    const user = await findUserByLogin(db, login);
    if (!user) throw new ExitError(1, `No user has the email or username ${normalizeEmail(login)}`);
    const password = await acceptablePassword(config, user);
    const revoked = await replacePassword({ db, hasher, clock }, user, password, {
      revokeApiKeys: options["revoke-api-keys"] === true,
    });
    console.log(
      `Password reset for ${user.email}; ${revoked.sessions} session${
        revoked.sessions === 1 ? "" : "s"
      } revoked` + (revoked.apiKeys > 0 ? `, ${revoked.apiKeys} API keys revoked` : ""),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}

/**
 * `citadel admin reset-mfa --email EMAIL`: turns a user's second factor off and revokes their
 * sessions (audited as mfa.reset by the system, alerted): the way back for a super admin
 * who lost both the authenticator and the recovery codes, with no other super admin.
 */
async function resetMfa(options: ReturnType<typeof parse>): Promise<number> {
  const login = options.email?.trim();
  if (options.positionals.length > 1) {
    throw badArgument("admin reset-mfa", options.positionals[1], USAGE);
  }
  const extra = options.name !== undefined
    ? "--name"
    : options.role !== undefined
    ? "--role"
    : options["revoke-api-keys"] !== undefined
    ? "--revoke-api-keys"
    : "";
  if (extra) throw usageError("admin reset-mfa", `${extra} is not an option of it`, USAGE);
  if (!login) throw usageError("admin reset-mfa", "--email is required", USAGE);
  const config = await resolveDataDirSecrets(
    await loadConfig(),
    (m) => console.error(`warning: ${m}`),
  );
  const runtime = await openCommandRuntime(config);
  try {
    const user = await findUserByLogin(runtime.deps.db, login);
    if (!user) throw new ExitError(1, `No user has the email or username ${normalizeEmail(login)}`);
    const services = createServices(runtime.deps);
    const passkeys = await services.passkeys.count(user.id);
    if (user.mfa_enabled_at === null && passkeys === 0) {
      console.log(`${user.email} has no second factor; nothing changed`);
      return 0;
    }
    await services.mfa.reset(user, SYSTEM_ACTOR);
    console.log(
      `Second factor removed for ${user.email} (TOTP, recovery codes and ${passkeys} ` +
        "passkey(s)); their sessions are revoked. They sign in with the password and enrol " +
        "again (POST /api/v1/me/mfa/totp, POST /api/v1/me/passkeys/options)",
    );
    return 0;
  } finally {
    await runtime.close();
  }
}

/**
 * `citadel admin create`, `reset-password` and `reset-mfa`: manage administrators (and reset
 * any user's password or second factor) from the server's shell, e.g. after losing the last
 * login.
 */
export async function admin(args: string[]): Promise<number> {
  const options = parse(args);
  const [sub] = options.positionals;
  if (sub === "create") return await create(options);
  if (sub === "reset-password") return await resetPassword(options);
  if (sub === "reset-mfa") return await resetMfa(options);
  const problem = sub === undefined
    ? "missing subcommand: create, reset-password or reset-mfa"
    : `unknown subcommand "${sub}"`;
  throw usageError("admin", problem, USAGE);
}
