/**
 * fast-check arbitraries from JSON Schema (the 2020-12 subset zod emits: type, properties,
 * required, additionalProperties, propertyNames, enum, const, anyOf/oneOf, string lengths,
 * pattern and format, number bounds, items and item counts, default): `validArbitrary` gives
 * values the schema accepts, `mutatedArbitrary` a valid value with one mutation somewhere in
 * it (a required field removed, a bound or length exceeded, a wrong type, an extra property,
 * a huge or hostile string, null), named so a failure says what was sent.
 * @module
 */
import fc, { type Arbitrary } from "fast-check";

// deno-lint-ignore no-explicit-any
export type Schema = Record<string, any>;

/** Extra arbitraries mixed into the string values of properties of the given names. */
export type Hints = Record<string, Arbitrary<string>>;

/** A mutated value and what was done to it. */
export interface Mutated {
  value: unknown;
  mutation: string;
}

/** Valid strings are kept short: the bounds themselves are the mutations' business. */
const VALID_STRING_CAP = 40;
const VALID_ITEMS_CAP = 4;

/** A schema's pattern as a RegExp (unicode first: zod writes `\p{...}` classes). */
function regexOf(pattern: string): RegExp {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return new RegExp(pattern);
  }
}

function typesOf(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === "string") return [schema.type];
  if (schema.properties || schema.additionalProperties) return ["object"];
  return [];
}

function validString(schema: Schema, hint?: Arbitrary<string>): Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Number.MAX_SAFE_INTEGER;
  const fits = (s: string) => s.length >= min && s.length <= max;
  let base: Arbitrary<string>;
  if (schema.pattern) {
    const re = regexOf(schema.pattern);
    try {
      // The pattern bounds the length by itself; a cap of ours could make it unsatisfiable.
      base = fc.stringMatching(re, schema.maxLength ? { maxLength: max } : {}).filter(fits);
    } catch {
      // A pattern fast-check cannot read: strings that happen to match it.
      const cap = Math.min(max, min + VALID_STRING_CAP);
      base = fc.string({ minLength: min, maxLength: cap }).filter((s) => re.test(s));
    }
  } else if (schema.format === "uuid") base = fc.uuid({ version: 4 });
  else if (schema.format === "email") base = fc.emailAddress().filter(fits);
  else if (schema.format === "date-time") {
    base = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
      .map((d) => d.toISOString());
  } else {
    const cap = Math.min(max, min + VALID_STRING_CAP);
    base = fc.oneof(
      fc.string({ minLength: min, maxLength: cap }),
      fc.string({ minLength: min, maxLength: cap, unit: "grapheme" }).filter(fits),
    );
  }
  return hint ? fc.oneof(base, hint.filter(fits)) : base;
}

function validNumber(schema: Schema, integer: boolean): Arbitrary<number> {
  const min = schema.minimum ??
    (schema.exclusiveMinimum !== undefined
      ? schema.exclusiveMinimum + (integer ? 1 : Number.EPSILON)
      : undefined);
  const max = schema.maximum ??
    (schema.exclusiveMaximum !== undefined
      ? schema.exclusiveMaximum - (integer ? 1 : Number.EPSILON)
      : undefined);
  if (integer) {
    return fc.integer({
      min: Math.max(min ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
      max: Math.min(max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    });
  }
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

function validObject(schema: Schema, hints: Hints): Arbitrary<Record<string, unknown>> {
  const properties: Record<string, Schema> = schema.properties ?? {};
  const names = Object.keys(properties);
  const extra = schema.additionalProperties;
  if (names.length === 0 && extra && typeof extra === "object") {
    const key = schema.propertyNames ? validString(schema.propertyNames) : fc.string();
    return fc.dictionary(key, validArbitrary(extra, hints), { maxKeys: 3 });
  }
  const record = Object.fromEntries(
    names.map((name) => [name, validArbitrary(properties[name], hints, name)]),
  );
  return fc.record(record, { requiredKeys: schema.required ?? [] }) as Arbitrary<
    Record<string, unknown>
  >;
}

/** Values `schema` accepts; `hints` add realistic strings for properties of known names. */
export function validArbitrary(
  schema: Schema | boolean,
  hints: Hints = {},
  name?: string,
): Arbitrary<unknown> {
  return valid(schema, hints, name);
}

function valid(schema: Schema | boolean, hints: Hints, name?: string): Arbitrary<unknown> {
  // The default is a value the schema accepts that clients send as often as any.
  if (typeof schema === "object" && "default" in schema) {
    const { default: value, ...rest } = schema;
    return fc.oneof(fc.constant(value), valid(rest, hints, name));
  }
  if (schema === true || typeof schema !== "object" || Object.keys(schema).length === 0) {
    return fc.jsonValue({ maxDepth: 2 });
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((b: Schema) => valid(b, hints, name)));
  if (schema.allOf) return valid(schema.allOf[0], hints, name);
  const arbitraries = typesOf(schema).map((type): Arbitrary<unknown> => {
    switch (type) {
      case "string":
        return validString(schema, name === undefined ? undefined : hints[name]);
      case "integer":
      case "number":
        return validNumber(schema, type === "integer");
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array":
        return fc.array(valid(schema.items ?? {}, hints), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? VALID_ITEMS_CAP, VALID_ITEMS_CAP),
        });
      default:
        return validObject(schema, hints);
    }
  });
  return arbitraries.length === 0 ? fc.jsonValue({ maxDepth: 2 }) : fc.oneof(...arbitraries);
}

/** Strings that have broken parsers, databases, logs and headers before. */
const HOSTILE_STRINGS = [
  "",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "\u202eevil",
  "\ufeff",
  "e\u0301\u0301\u0301",
  "😀".repeat(50),
  "\r\nSet-Cookie: injected=1",
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  "<script>alert(1)</script>",
  "${jndi:ldap://x}",
  "../../../../etc/passwd",
  "%00%2e%2e%2f",
  "__proto__",
  "NaN",
  "-0",
  "1e999",
];

/** Values of every JSON type: one of them is the wrong type for any schema. */
const ANY_TYPE: Arbitrary<unknown> = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 10 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const named = (mutation: string) => (value: unknown): Mutated => ({ value, mutation });

function stringMutations(schema: Schema): Arbitrary<Mutated>[] {
  const out: Arbitrary<Mutated>[] = [
    fc.constantFrom(...HOSTILE_STRINGS).map(named("hostile string")),
    fc.string({ maxLength: 40, unit: "binary" }).map(named("unicode and control characters")),
    fc.constantFrom(70_000, 1_100_000)
      .map((n) => ({ value: "A".repeat(n), mutation: `huge string (${n} characters)` })),
  ];
  const { minLength, maxLength, pattern, format } = schema;
  if (maxLength !== undefined) {
    out.push(
      fc.integer({ min: 1, max: 8 }).map((n) => "x".repeat(maxLength + n)).map(named("too long")),
    );
  }
  if (minLength) out.push(fc.string({ maxLength: minLength - 1 }).map(named("too short")));
  if (pattern || format) {
    const re = pattern ? regexOf(pattern) : undefined;
    // Hostile strings among the candidates: some break any pattern, so the filter ends.
    const candidates = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 20, unit: "binary" }),
      fc.constantFrom(...HOSTILE_STRINGS),
    );
    out.push(candidates.filter((s) => !re || !re.test(s)).map(named("off pattern")));
  }
  return out;
}

function numberMutations(schema: Schema, integer: boolean): Arbitrary<Mutated>[] {
  const out: Arbitrary<Mutated>[] = [
    fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 0.1, -1).map(named("extreme number")),
    fc.constantFrom("1", "0x10", "").map(named("number as a string")),
  ];
  const below = schema.minimum ?? schema.exclusiveMinimum;
  const above = schema.maximum ?? schema.exclusiveMaximum;
  const step = fc.integer({ min: 1, max: 1_000_000 });
  if (below !== undefined) out.push(step.map((n) => below - n).map(named("below minimum")));
  if (above !== undefined) out.push(step.map((n) => above + n).map(named("above maximum")));
  if (integer) out.push(fc.integer().map((n) => n + 0.5).map(named("fraction for integer")));
  return out;
}

function objectMutations(schema: Schema, hints: Hints): Arbitrary<Mutated>[] {
  const base = valid(schema, hints);
  const properties: Record<string, Schema> = schema.properties ?? {};
  const required: string[] = schema.required ?? [];
  const out: Arbitrary<Mutated>[] = [
    fc.tuple(base, fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "id")))
      .map(([value, key]) => {
        const copy = { ...(value as object) };
        Object.defineProperty(copy, key, { value: "extra", enumerable: true, writable: true });
        return { value: copy, mutation: `extra property ${JSON.stringify(key)}` };
      }),
  ];
  if (required.length > 0) {
    out.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([value, key]) => {
        const { [key]: _, ...rest } = value as Record<string, unknown>;
        return { value: rest, mutation: `required ${key} removed` };
      }),
    );
  }
  const names = Object.keys(properties);
  if (names.length > 0) {
    out.push(
      fc.constantFrom(...names).chain((key) =>
        fc.tuple(base, mutatedArbitrary(properties[key], hints)).map(([value, inner]) => ({
          value: { ...(value as object), [key]: inner.value },
          mutation: `${key}: ${inner.mutation}`,
        }))
      ),
    );
  }
  return out;
}

function arrayMutations(schema: Schema, hints: Hints): Arbitrary<Mutated>[] {
  const item = valid(schema.items ?? {}, hints);
  const out: Arbitrary<Mutated>[] = [];
  if (schema.maxItems !== undefined) {
    const n = schema.maxItems + 1;
    out.push(fc.array(item, { minLength: n, maxLength: n + 3 }).map(named("too many items")));
  }
  if (schema.minItems) out.push(fc.constant([]).map(named("too few items")));
  if (schema.items) {
    out.push(
      fc.tuple(valid(schema, hints), mutatedArbitrary(schema.items, hints)).map((
        [value, inner],
      ) => ({
        value: [...(value as unknown[]), inner.value],
        mutation: `item: ${inner.mutation}`,
      })),
    );
  }
  return out;
}

/** A value `schema` accepts with one mutation applied (at the top or at one nested place). */
export function mutatedArbitrary(schema: Schema | boolean, hints: Hints = {}): Arbitrary<Mutated> {
  const s: Schema = typeof schema === "object" ? schema : {};
  const out: Arbitrary<Mutated>[] = [
    fc.constant({ value: null, mutation: "null" }),
    ANY_TYPE.map(named("wrong type")),
  ];
  if (s.enum || "const" in s) {
    out.push(fc.string({ maxLength: 12 }).map(named("outside the enum")));
  }
  const branches: Schema[] | undefined = s.anyOf ?? s.oneOf;
  if (branches) out.push(...branches.map((b) => mutatedArbitrary(b, hints)));
  for (const type of typesOf(s)) {
    if (type === "string") out.push(...stringMutations(s));
    else if (type === "integer" || type === "number") {
      out.push(...numberMutations(s, type === "integer"));
    } else if (type === "array") out.push(...arrayMutations(s, hints));
    else if (type === "object") out.push(...objectMutations(s, hints));
  }
  return fc.oneof(...out);
}
