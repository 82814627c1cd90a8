/**
 * The configuration as `citadel check` reads it: a usable Config even when the server would
 * refuse it, plus every refusal.
 */
import { type Config, ConfigError, type ConfigProblem, parseConfig } from "../../config.ts";

/** A usable configuration plus every reason the server would refuse the real one. */
export interface LenientConfig {
  config: Config;
  problems: ConfigProblem[];
  production: boolean;
}

// A problem reported on one variable that is fixed by dropping its partner.
const PARTNERS: Record<string, string[]> = {
  TLS_CERT_FILE: ["TLS_KEY_FILE"],
  TLS_KEY_FILE: ["TLS_CERT_FILE"],
  REDIS_URL: ["RATE_LIMIT_STORE"],
};

function problemsOf(env: Record<string, string | undefined>): ConfigProblem[] {
  try {
    parseConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/**
 * Parses configuration the way `check` needs it: a configuration the server would refuse
 * still yields a Config, so every other check can run and report.
 *
 * Production-only refusals are collected by parsing as given; the Config itself comes
 * from parsing as development, with each invalid variable dropped (back to its default)
 * until the rest parses. Throws ConfigError only when no such Config exists.
 */
export function parseConfigLeniently(env: Readonly<Record<string, string>>): LenientConfig {
  const production = env.APP_ENV?.trim() === "production";
  const seen = new Map<string, ConfigProblem>();
  const remember = (problems: ConfigProblem[]) => {
    for (const p of problems) seen.set(`${p.variable}\n${p.problem}`, p);
  };
  const current: Record<string, string | undefined> = { ...env };
  if (production) current.APP_ENV = "development";
  let config: Config | undefined;
  for (let attempt = 0; attempt < 20 && !config; attempt++) {
    try {
      config = parseConfig(current);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      remember(error.problems);
      let dropped = false;
      for (const { variable } of error.problems) {
        for (const name of [variable, ...(PARTNERS[variable] ?? [])]) {
          if (current[name] !== undefined) {
            delete current[name];
            dropped = true;
          }
        }
      }
      if (!dropped) throw error;
    }
  }
  if (!config) throw new ConfigError([...seen.values()]);
  if (production) {
    remember(problemsOf(env));
    // Schema errors hide the production rules; ask again without the invalid variables.
    remember(problemsOf({ ...current, APP_ENV: "production" }));
    config = { ...config, appEnv: "production" };
  }
  return { config, problems: [...seen.values()], production };
}
