/**
 * What `citadel serve` prepares before it listens, once, in the supervising process: the
 * first administrator (from SUPER_ADMIN_USERNAME / SUPER_ADMIN_PASSWORD, or a generated
 * password outside production; a password the policy refuses stops the start, and a hint
 * says how to create an administrator when there is none), and the signing keys (the
 * first asymmetric key; encrypted fields readable, or a refusal naming ENCRYPTION_KEY).
 */
import type { AppDeps } from "../app_types.ts";
import {
  BootstrapPasswordRejected,
  type BootstrapResult,
  bootstrapSuperAdmin,
} from "../services/bootstrap_admin.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { FieldCryptoError } from "../lib/field_crypto.ts";
import { createServices } from "../services/container.ts";
import { SigningKeyMismatch } from "../services/key_ring.ts";
import { ENCRYPTED_FIELD_NAMES, fieldsWithoutKey } from "../services/encrypted_fields.ts";

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

/**
 * Production refuses to start without ENCRYPTION_KEY once any field is encrypted (the
 * secrets in it would be unreadable); with EdDSA or ES256 the first signing key is created
 * here, before any worker starts, and a private key that does not decrypt under
 * ENCRYPTION_KEY (or its previous key) stops the start with the fix. With HS256 the time
 * the current secret first signs is recorded (for `check`).
 */
export async function prepareSigningKeys(deps: AppDeps): Promise<void> {
  const { config, db } = deps;
  if (config.appEnv === "production") {
    const encrypted = await fieldsWithoutKey(db, config.encryption.key);
    if (encrypted > 0) {
      throw new ExitError(
        EXIT_USAGE,
        `ENCRYPTION_KEY: is required when APP_ENV=production: ${encrypted} database ` +
          `field(s) are encrypted (${ENCRYPTED_FIELD_NAMES.join(", ")}). Set ENCRYPTION_KEY ` +
          "to the key they were encrypted with",
      );
    }
  }
  try {
    await createServices(deps).keyAdmin.start();
  } catch (error) {
    if (error instanceof FieldCryptoError) {
      throw new ExitError(
        EXIT_USAGE,
        `ENCRYPTION_KEY: a signing key does not decrypt: ${error.message}`,
      );
    }
    if (error instanceof SigningKeyMismatch) throw new ExitError(EXIT_USAGE, error.message);
    throw error;
  }
}
