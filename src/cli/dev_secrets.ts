/**
 * The development JWT secret: generated once into the data directory when none is configured,
 * and reused on later starts.
 */
import type { Config } from "../config.ts";
import { databaseFilePath } from "../db/connect.ts";
import { dirname } from "../db/paths.ts";

/** Where development-only generated secrets live: beside the database file, or ./data. */
export function dataDirectory(config: Config): string {
  const file = databaseFilePath(config.databaseUrl);
  return file ? dirname(file) : "./data";
}

function randomSecret(bytes = 64): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw));
}

/** Writes a new secret unless another process wrote one first; returns true if it wrote. */
async function createSecretFile(dir: string, path: string): Promise<boolean> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await Deno.writeTextFile(path, randomSecret() + "\n", { mode: 0o600, createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/**
 * Outside production, a missing JWT_SECRET_KEY is generated once, stored with mode 600
 * under the data directory and reused on later starts (so restarts keep sessions).
 * The warning is given once per data directory, by the command that generates the
 * secret: repeating it on every command would teach people to ignore warnings.
 * Returns the config with the secret filled in.
 */
export async function ensureDevJwtSecret(
  config: Config,
  warn: (message: string) => void,
): Promise<Config> {
  if (config.jwt.secret || config.appEnv === "production") return config;
  const dir = dataDirectory(config);
  const path = `${dir}/jwt_secret`;
  if (await createSecretFile(dir, path)) {
    warn(
      `JWT_SECRET_KEY is not set; generated a development secret in ${path} and using it ` +
        "from now on (this is said once). Set JWT_SECRET_KEY (see `citadel secret`) before " +
        "going to production",
    );
  }
  const secret = (await Deno.readTextFile(path)).trim();
  return { ...config, jwt: { ...config.jwt, secret } };
}
