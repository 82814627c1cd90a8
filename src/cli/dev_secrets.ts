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

/**
 * Outside production, a missing JWT_SECRET_KEY is generated once, stored with mode 600
 * under the data directory and reused on later starts (so restarts keep sessions).
 * Returns the config with the secret filled in.
 */
export async function ensureDevJwtSecret(
  config: Config,
  warn: (message: string) => void,
): Promise<Config> {
  if (config.jwt.secret || config.appEnv === "production") return config;
  const dir = dataDirectory(config);
  const path = `${dir}/jwt_secret`;
  let secret: string;
  try {
    secret = (await Deno.readTextFile(path)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    secret = randomSecret();
    await Deno.writeTextFile(path, secret + "\n", { mode: 0o600, createNew: true });
  }
  warn(
    `JWT_SECRET_KEY is not set; using the development secret in ${path}. ` +
      "Set JWT_SECRET_KEY (see `citadel secret`) before going to production",
  );
  return { ...config, jwt: { ...config.jwt, secret } };
}
