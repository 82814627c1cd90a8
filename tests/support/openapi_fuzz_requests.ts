/**
 * The requests of the OpenAPI fuzz test (tests/routes/openapi_fuzz_test.ts): the operations
 * of a document, fast-check arbitraries of valid and mutated requests built from their
 * parameter and body schemas, their URLs, and bodies that no schema describes.
 * @module
 */
import fc, { type Arbitrary } from "fast-check";
import { type Hints, mutatedArbitrary, type Schema, validArbitrary } from "./schema_arbitrary.ts";

/** An operation of the document, as the fuzzer needs it. */
export interface Operation {
  method: string;
  template: string;
  params: Schema[];
  body?: Schema;
  security: Array<Record<string, string[]>>;
}

/** One generated request: its path and query values, body, credential and mutation. */
export interface Fuzzed {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
  /** A body sent as this text, not as JSON, with this content type. */
  raw?: string;
  contentType?: string;
  credential: "bearer" | "apiKey" | "none";
  mutation?: string;
}

/** Every operation of an OpenAPI document. */
export function operationsOf(doc: Schema): Operation[] {
  return Object.entries<Schema>(doc.paths).flatMap(([template, methods]) =>
    Object.entries<Schema>(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      params: op.parameters ?? [],
      body: op.requestBody?.content?.["application/json"]?.schema,
      security: op.security ?? [],
    }))
  );
}

/** Operations that end the caller's session run on a session of their own per request. */
export const endsSession = (op: Operation) => /\/auth\/logout(-all)?$/.test(op.template);
/** Deletions and session enders run last: they may remove what other operations use. */
export const rank = (op: Operation) => endsSession(op) ? 2 : op.method === "DELETE" ? 1 : 0;

/** The object schema of the parameters `in` one place. */
function paramSchema(op: Operation, where: "path" | "query"): Schema | undefined {
  const params = op.params.filter((p) => p.in === where);
  if (params.length === 0) return undefined;
  return {
    type: "object",
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

/** Valid path values, with real ids mixed in so some requests reach an existing row. */
function pathArbitrary(schema: Schema, ids: string[], hints: Hints): Arbitrary<unknown> {
  const real = Object.keys(schema.properties).map((k) => [k, fc.constantFrom(...ids)] as const);
  return fc.oneof(validArbitrary(schema, hints), fc.record(Object.fromEntries(real)));
}

/** A change to a valid request. */
type Mutation = (base: Fuzzed) => Fuzzed;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * One part of a valid request mutated: a path parameter, the query or the body, or what the
 * schema does not say (an undescribed query parameter, a body where none is described).
 */
function mutations(op: Operation, hints: Hints): Arbitrary<Mutation>[] {
  const out: Arbitrary<Mutation>[] = [
    fc.string({ maxLength: 20 }).map((extra) => (base: Fuzzed) => ({
      ...base,
      query: { ...base.query, fuzz_extra: extra },
      mutation: "undescribed query parameter",
    })),
  ];
  const pathSchema = paramSchema(op, "path");
  if (pathSchema) {
    out.push(
      fc.constantFrom(...Object.keys(pathSchema.properties)).chain((name) =>
        mutatedArbitrary(pathSchema.properties[name], hints).map((m) => (base: Fuzzed) => ({
          ...base,
          path: { ...base.path, [name]: m.value },
          mutation: `path ${name}: ${m.mutation}`,
        }))
      ),
    );
  }
  const querySchema = paramSchema(op, "query");
  if (querySchema) {
    out.push(
      mutatedArbitrary(querySchema, hints).filter((m) => isRecord(m.value)).map(
        (m) => (base: Fuzzed) => ({
          ...base,
          query: m.value as Record<string, unknown>,
          mutation: `query ${m.mutation}`,
        }),
      ),
    );
  }
  if (BODY_METHODS.includes(op.method)) {
    out.push(
      mutatedArbitrary(op.body ?? {}, hints).map((m) => (base: Fuzzed) => ({
        ...base,
        body: m.value,
        mutation: `body ${m.mutation}`,
      })),
    );
  }
  return out;
}

/** The credentials a request may carry: none for open routes, else a session or an API key. */
export function fuzzedCredentials(op: Operation): Fuzzed["credential"][] {
  if (op.security.length === 0 || op.security.some((s) => !s.bearer && !s.apiKey)) {
    return ["none"];
  }
  return op.security.some((s) => s.apiKey) ? ["bearer", "apiKey"] : ["bearer"];
}

/** Requests to `op`: valid ones, or valid ones with one mutation. */
export function fuzzedArbitrary(
  op: Operation,
  kind: "valid" | "mutated",
  ids: string[],
  hints: Hints,
): Arbitrary<Fuzzed> {
  const pathSchema = paramSchema(op, "path");
  const querySchema = paramSchema(op, "query");
  const credentials = fuzzedCredentials(op);
  const valid = fc.record({
    path: pathSchema ? pathArbitrary(pathSchema, ids, hints) : fc.constant({}),
    query: querySchema ? validArbitrary(querySchema, hints) : fc.constant({}),
    body: op.body ? validArbitrary(op.body, hints) : fc.constant(undefined),
    credential: fc.constantFrom(...credentials),
  }) as Arbitrary<Fuzzed>;
  if (kind === "valid") return valid;
  return fc.tuple(valid, fc.oneof(...mutations(op, hints))).map(([base, mutate]) => mutate(base));
}

/** A parameter value as URL text: JSON for what is not a string, lone surrogates replaced. */
function urlText(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  return text.toWellFormed();
}

/** The URL of a request: its path with the parameters filled in, and its query. */
export function urlOf(op: Operation, fuzzed: Fuzzed): string {
  const path = op.template.replace(/\{(\w+)\}/g, (_, name) => {
    const text = encodeURIComponent(urlText(fuzzed.path[name]));
    // A dot segment would be resolved into another route's path, which the document check
    // would then hold to this operation's description.
    return /^\.{1,2}$/.test(text) ? `${text}~` : text;
  });
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(fuzzed.query)) {
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, urlText(one));
  }
  return query.size > 0 ? `${path}?${query}` : path;
}

/** The methods that may carry a body (the JSON body parser reads them). */
export const BODY_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** Bodies no schema describes, sent once to every operation that may carry a body. */
export const RAW_BODIES: Array<{ raw: string; contentType?: string }> = [
  { raw: "" },
  { raw: " " },
  { raw: '{"' },
  { raw: "[]" },
  { raw: "null" },
  { raw: '{"a":1}{"a":1}' },
  { raw: '"\\ud800"' },
  { raw: "\u0000" },
  { raw: '{"__proto__":{"role":"super_admin"},"constructor":{"prototype":{}}}' },
  { raw: "[".repeat(2000) + "]".repeat(2000) },
  { raw: "{}", contentType: "text/plain" },
  { raw: "{}", contentType: "application/json; charset=latin1" },
];
