/**
 * Secrets kept in the data directory (beside the database, mode 600) when their variable is
 * unset: the development JWT secret and field-encryption key, generated once and reused, and
 * the hash pepper, generated once in development and required in production.
 */
import type { Config } from "../config.ts";
import {
  createSecretFile,
  readSecretFile,
  SECRET_FILES,
  secretFilePath,
} from "../platform/secret_files.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { FIELD_KEY_BYTES } from "../lib/field_crypto.ts";

/** Generates the file standing in for `variable` once, noting it in `generated`; reads it. */
async function generatedSecret(
  config: Config,
  variable: keyof typeof SECRET_FILES,
  bytes: number,
  generated: string[],
) {
  const path = secretFilePath(config, variable);
  if (await createSecretFile(path, bytes)) generated.push(`${variable} in ${path}`);
  return (await readSecretFile(path))!;
}

/**
 * Fills in the secrets whose variables are unset, from the data directory:
 * - JWT_SECRET_KEY and ENCRYPTION_KEY outside production: generated once with mode 600 and
 *   reused on later starts (so restarts keep sessions and encrypted fields). Production
 *   never reads them: there the variables are the only source.
 * - HASH_PEPPER: generated once outside production; in production the file must exist
 *   (a pepper generated earlier on this machine), or the command refuses with the fix.
 * Each warning is given once per data directory, by the command that generates the file:
 * repeating it on every command would teach people to ignore warnings.
 */
export async function resolveDataDirSecrets(
  config: Config,
  warn: (message: string) => void,
): Promise<Config> {
  const production = config.appEnv === "production";
  const jwt = { ...config.jwt };
  const encryption = { ...config.encryption };
  let hashPepper = config.hashPepper;
  const generated: string[] = [];
  if (!jwt.secret && !production) {
    jwt.secret = await generatedSecret(config, "JWT_SECRET_KEY", 64, generated);
  }
  if (hashPepper) {
    // Setting HASH_PEPPER over a generated file changes the pepper: hashes made under the
    // file's pepper stop verifying. Said on every start, because it costs sessions and keys.
    const path = secretFilePath(config, "HASH_PEPPER");
    const filed = await readSecretFile(path);
    if (filed !== undefined && filed !== hashPepper) {
      warn(
        `HASH_PEPPER differs from ${path}: refresh tokens, API keys and device credentials ` +
          "stored under the file's pepper no longer verify. Set HASH_PEPPER to the file's " +
          "content to keep them, or delete the file once that is intended",
      );
    }
  } else {
    const path = secretFilePath(config, "HASH_PEPPER");
    hashPepper = production
      ? await readSecretFile(path)
      : await generatedSecret(config, "HASH_PEPPER", 64, generated);
    if (!hashPepper) {
      throw new ExitError(
        EXIT_USAGE,
        `HASH_PEPPER: is required when APP_ENV=production, and ${path} does not exist. ` +
          "Generate one with `citadel secret` and set HASH_PEPPER to it (after an upgrade, " +
          "hashes made under the old pepper derived from JWT_SECRET_KEY keep working)",
      );
    }
  }
  if (!encryption.key && !production) {
    encryption.key = await generatedSecret(config, "ENCRYPTION_KEY", FIELD_KEY_BYTES, generated);
  }
  if (generated.length) {
    warn(
      `not set, so generated once (mode 600, reused from now on; keep these files with the ` +
        `database): ${generated.join(", ")}. Set the variables before going to production ` +
        "(`citadel secret` prints a value)",
    );
  }
  return { ...config, jwt, encryption, hashPepper };
}
