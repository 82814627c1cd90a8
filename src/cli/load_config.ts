/**
 * The CLI's configuration: the environment over `./.env`, parsed once, with every problem
 * reported as a usage error.
 */
import { type Config, ConfigError, parseConfig } from "../config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { isWiderThan, mergeEnv, readEnvFile } from "../platform/env_file.ts";

/** Environment of the CLI: `.env` in the working directory under the real environment. */
export async function loadEnv(): Promise<Record<string, string>> {
  const file = await readEnvFile(".");
  if (file && isWiderThan(file.mode, 0o600)) {
    console.error(
      `warning: ${file.path} has mode ${
        (file.mode! & 0o777).toString(8)
      }; it may hold secrets, run: chmod 600 ${file.path}`,
    );
  }
  return mergeEnv(file, Deno.env.toObject());
}

/** Loads and validates configuration, or throws an ExitError(2) listing every problem. */
export async function loadConfig(env?: Record<string, string>): Promise<Config> {
  try {
    return parseConfig(env ?? await loadEnv());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.problems.map((p) => `  ${p.variable}: ${p.problem}. ${p.fix}`);
    throw new ExitError(EXIT_USAGE, `Invalid configuration:\n${lines.join("\n")}`);
  }
}
