/**
 * Reading `.env`: parsing its lines, its file mode, and laying the real environment over it.
 * @module
 */

/** A parsed `.env` file and whether its permissions were too wide. */
export interface EnvFile {
  values: Record<string, string>;
  path: string;
  mode?: number;
}

/** Parses KEY=VALUE lines: comments, `export`, single and double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    values[match[1]] = value;
  }
  return values;
}

/** Reads `.env` from a directory when present; undefined when there is none. */
export async function readEnvFile(dir = "."): Promise<EnvFile | undefined> {
  const path = `${dir}/.env`;
  try {
    const [text, info] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    return { values: parseDotenv(text), path, mode: info.mode ?? undefined };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The process environment with `.env` underneath it: the real environment wins. */
export function mergeEnv(
  file: EnvFile | undefined,
  real: Record<string, string>,
): Record<string, string> {
  return { ...(file?.values ?? {}), ...real };
}

/** True when group or others can read or write the file (mode wider than 600). */
export function isWiderThan(mode: number | undefined, allowed: number): boolean {
  return mode !== undefined && (mode & 0o777 & ~allowed) !== 0;
}
