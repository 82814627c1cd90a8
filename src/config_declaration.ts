/**
 * What one setting declaration is, and what is derived from a tree of them: the zod
 * schema that validates the environment, the `Config` type, the mapping from variables to
 * config paths, and the flat list README's configuration table is checked against. Also
 * the parsers a declaration is built from (text, whole number, boolean, list, choice), each
 * carrying its default and range. Imported by `config.ts` and `config_settings.ts` only.
 */
import * as z from "zod";

/** One problem with one variable: what is wrong and how to fix it. */
export interface ConfigProblem {
  variable: string;
  problem: string;
  fix: string;
}

/** One environment variable: how it is parsed, what it means, what fills its config path. */
export interface Setting<T> {
  /** The environment variable, e.g. `RATE_LIMIT_AUTH_PER_MINUTE`. */
  readonly variable: string;
  /** Validates the variable's text; carries the default (the value when unset) and range. */
  readonly schema: z.ZodType;
  /** README's "effect" column, word for word. */
  readonly description: string;
  /** README's "default" column when the default is no value but something else happens. */
  readonly unsetMeans?: string;
  /**
   * Turns the schema's output into the config value. Problems it reports carry their own
   * fix and are listed after the cross-variable ones.
   */
  readonly finish: (value: unknown, problems: ConfigProblem[]) => T;
}

/** Options of {@linkcode setting}. */
export interface SettingOptions<R, T> {
  unsetMeans?: string;
  finish?: (value: R, problems: ConfigProblem[]) => T;
}

/** Declares one variable; its place in the settings tree is the config path it fills. */
export function setting<T>(
  variable: string,
  schema: z.ZodType<T>,
  description: string,
  options?: { unsetMeans?: string },
): Setting<T>;
export function setting<R, T>(
  variable: string,
  schema: z.ZodType<R>,
  description: string,
  options: { unsetMeans?: string; finish: (value: R, problems: ConfigProblem[]) => T },
): Setting<T>;
export function setting(
  variable: string,
  schema: z.ZodType,
  description: string,
  options: SettingOptions<unknown, unknown> = {},
): Setting<unknown> {
  const finish = options.finish ?? ((value: unknown) => value);
  return { variable, schema, description, unsetMeans: options.unsetMeans, finish };
}

/** Config property names to declarations or nested groups: the shape of `Config`. */
export interface SettingTree {
  readonly [key: string]: Setting<unknown> | SettingTree;
}

type ValueOf<S> = S extends Setting<infer T> ? T
  : S extends SettingTree ? ConfigOf<S>
  : never;
type OptionalKeys<S> = { [K in keyof S]: undefined extends ValueOf<S[K]> ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/** The configuration a tree of declarations yields; a value that may be unset is optional. */
export type ConfigOf<S extends SettingTree> = Simplify<
  & { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: ValueOf<S[K]> }
  & { -readonly [K in OptionalKeys<S>]?: Exclude<ValueOf<S[K]>, undefined> }
>;

/** A declaration with the config path it fills, e.g. `rateLimit.authPerMinute`. */
export interface PlacedSetting extends Setting<unknown> {
  path: string;
}

function isSetting(node: Setting<unknown> | SettingTree): node is Setting<unknown> {
  return typeof node.variable === "string" && typeof node.finish === "function";
}

/** Every declaration of the tree, in order, with its config path. */
export function listSettings(tree: SettingTree, prefix = ""): PlacedSetting[] {
  return Object.entries(tree).flatMap(([key, node]) =>
    isSetting(node) ? [{ ...node, path: prefix + key }] : listSettings(node, `${prefix}${key}.`)
  );
}

/** The zod schema of the environment: one entry per declared variable, in tree order. */
export function schemaOf(tree: SettingTree): z.ZodType<Record<string, unknown>> {
  return z.object(Object.fromEntries(listSettings(tree).map((s) => [s.variable, s.schema])));
}

/** Fills the tree's config paths from the schema's output, variable by variable. */
export function configOf<S extends SettingTree>(
  tree: S,
  values: Readonly<Record<string, unknown>>,
  problems: ConfigProblem[],
): ConfigOf<S> {
  const config: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    config[key] = isSetting(node)
      ? node.finish(values[node.variable], problems)
      : configOf(node, values, problems);
  }
  return config as ConfigOf<S>;
}

/** The config value of a declaration whose variable is unset. */
export function defaultOf(declaration: Setting<unknown>): unknown {
  return declaration.finish(declaration.schema.parse(undefined), []);
}

// --- Parsers: each validates a variable's text and carries its default and range. ---

/** Trimmed text that may be unset; empty means unset. */
export const optionalText = z.string().trim().optional().transform((v) => v === "" ? undefined : v);

/** Trimmed, non-empty text. */
export function text(fallback: string): z.ZodType<string> {
  return z.string().trim().min(1).default(fallback);
}

/** `true`/`false` (or 1/0, yes/no, on/off). */
export function bool(fallback: boolean): z.ZodType<boolean> {
  return z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "must be true or false",
  }).optional().transform((v) =>
    v === undefined ? fallback : ["true", "1", "yes", "on"].includes(v)
  );
}

/** A whole number from `min` to `max`; empty means the default. */
export function int(fallback: number, min: number, max: number): z.ZodType<number> {
  return z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
}

/** A comma-separated list; blank items are dropped, unset is empty. */
export const list = z.string().optional().transform((v) =>
  (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
);

/** One of `values`, e.g. "must be memory, database or redis" otherwise. */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  fallback: NoInfer<V[number]>,
): z.ZodType<V[number]> {
  const named = values.length === 1
    ? values[0]
    : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`;
  return z.enum(values, { error: `must be ${named}` }).default(fallback);
}
