/**
 * The first administrator, as `citadel serve` starts: create the super admin from
 * SUPER_ADMIN_USERNAME / SUPER_ADMIN_PASSWORD (or a generated password outside
 * production), refuse a password the policy refuses, and say how to create an
 * administrator when there is none. Runs once, in the supervising process only.
 */
import type { AppDeps } from "../app_types.ts";
import {
  BootstrapPasswordRejected,
  type BootstrapResult,
  bootstrapSuperAdmin,
} from "../services/bootstrap_admin.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";

/** Printed once at start when no active admin or super admin exists. */
export const NO_ADMINISTRATOR_HINT = "no administrator exists: create one with " +
  "`citadel admin create --email you@example.com --role super_admin`, or set " +
  "SUPER_ADMIN_USERNAME and SUPER_ADMIN_PASSWORD and start again";

/**
 * Bootstraps the super admin for `serve`. Throws ExitError(2) naming every policy rule a
 * configured SUPER_ADMIN_PASSWORD breaks; nothing is created then.
 */
export async function bootstrapForServe(deps: AppDeps): Promise<void> {
  const { config, logger } = deps;
  let result: BootstrapResult;
  try {
    result = await bootstrapSuperAdmin(deps.db, deps.hasher, {
      username: config.superAdmin.username,
      password: config.superAdmin.password,
      generateMissingPassword: config.appEnv !== "production",
      passwordMinLength: config.passwordMinLength,
      now: deps.clock.now(),
    });
  } catch (error) {
    if (!(error instanceof BootstrapPasswordRejected)) throw error;
    const lines = error.errors.map((e) => `  - ${e.message}`).join("\n");
    throw new ExitError(
      EXIT_USAGE,
      `SUPER_ADMIN_PASSWORD fails the password policy, so the super admin was not created:\n` +
        `${lines}\nSet a stronger SUPER_ADMIN_PASSWORD, or unset it and run ` +
        "`citadel admin create --email you@example.com --role super_admin`",
    );
  }
  if (!result.created) {
    if (result.reason === "no_administrator") logger.warn(NO_ADMINISTRATOR_HINT);
    return;
  }
  logger.info("super admin created", { login: result.login });
  if (result.generatedPassword) {
    // Shown once on the terminal, never written to a log; only its hash is stored.
    console.error(
      `\nGenerated super admin password for ${result.login}: ${result.generatedPassword}\n` +
        "It is shown only this once. Change it after your first login.\n",
    );
  }
}
