/**
 * The files in the data directory (beside the database, mode 600) that stand in for secret
 * variables left unset: where they are, reading one, and creating one exactly once even
 * when several processes start together. What fills them is cli/data_dir_secrets.ts;
 * `check` reads them too.
 */
import { databaseFilePath } from "../db/connect.ts";
import { dirname } from "../db/paths.ts";

/** Where generated secrets live: beside the database file, or ./data. */
export function dataDirectory(config: { databaseUrl: string }): string {
  const file = databaseFilePath(config.databaseUrl);
  return file ? dirname(file) : "./data";
}

/** The files, by the variable each one stands in for. */
export const SECRET_FILES = {
  JWT_SECRET_KEY: "jwt_secret",
  HASH_PEPPER: "hash_pepper",
  ENCRYPTION_KEY: "encryption_key",
} as const;

/** The path of the file that stands in for `variable`. */
export function secretFilePath(
  config: { databaseUrl: string },
  variable: keyof typeof SECRET_FILES,
): string {
  return `${dataDirectory(config)}/${SECRET_FILES[variable]}`;
}

function randomSecret(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw));
}

/** Writes a new secret unless another process wrote one first; returns true if it wrote. */
export async function createSecretFile(path: string, bytes: number): Promise<boolean> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await Deno.writeTextFile(path, randomSecret(bytes) + "\n", { mode: 0o600, createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/** The file's secret, or undefined when there is no file. */
export async function readSecretFile(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim() || undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Where the hash pepper comes from: HASH_PEPPER, the data-directory file, or nowhere. */
export async function pepperSource(
  config: { hashPepper?: string; databaseUrl: string },
): Promise<"variable" | "file" | "missing"> {
  if (config.hashPepper) return "variable";
  return await readSecretFile(secretFilePath(config, "HASH_PEPPER")) ? "file" : "missing";
}
