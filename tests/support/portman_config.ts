/**
 * The Portman configuration of the fuzz run (tests/system/portman_test.ts), built from the
 * server's own OpenAPI document and the plans of portman_plans.ts: for every operation a
 * contract test of the planned answer (status, content type, JSON body, schema, headers) on a
 * request overwritten with real ids and bodies; for every request body and query, Portman's
 * fuzzing variations (required fields removed, bounds and lengths exceeded), each expected to
 * get a 4xx; and a collection test script that holds every answer, fuzzed or not, to what the
 * document lists for its operation and status (see portman_document_check.ts).
 * @module
 */
import { ORDER, type Plan } from "./portman_plans.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** One operation of the document, named as Portman targets it (`POST::/api/v1/auth/login`). */
export interface DocumentOperation {
  key: string;
  method: string;
  template: string;
  operation: Json;
}

/** Every operation of an OpenAPI document. */
export function operationsOf(doc: Json): DocumentOperation[] {
  return Object.entries<Json>(doc.paths).flatMap(([template, methods]) =>
    Object.entries<Json>(methods).map(([method, operation]) => ({
      key: `${method.toUpperCase()}::${template}`,
      method: method.toUpperCase(),
      template,
      operation,
    }))
  );
}

/** Whether a schema constrains anything Portman fuzzes (required, lengths, bounds). */
function fuzzable(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(fuzzable);
  if (schema === null || typeof schema !== "object") return false;
  const s = schema as Json;
  if (Array.isArray(s.required) && s.required.length > 0) return true;
  if (["minLength", "maxLength", "minimum", "maximum"].some((k) => k in s)) return true;
  return Object.values(s).some(fuzzable);
}

/** The operations whose body or query Portman's fuzzing has something to change in. */
export function fuzzableOperations(operations: DocumentOperation[]): string[] {
  return operations.filter(({ operation }) =>
    fuzzable(operation.requestBody) ||
    fuzzable((operation.parameters ?? []).filter((p: Json) => p.in === "query"))
  ).map((op) => op.key);
}

const ON = { enabled: true };
/** Every fuzzing kind Portman has, for bodies and query parameters alike. */
const FUZZ = {
  requiredFields: ON,
  minimumNumberFields: ON,
  maximumNumberFields: ON,
  minLengthFields: ON,
  maxLengthFields: ON,
};

/** The name fuzzed requests carry (Portman appends `[Fuzz][<what>]` to the operation's). */
export const FUZZ_VARIATION = "Fuzz";

/** The test every fuzzed request carries: a client error, never a success or a 5xx. */
const CLIENT_ERROR_TEST = `pm.test("[${FUZZ_VARIATION}] " + pm.info.requestName + ` +
  `" - a fuzzed request gets a 4xx", function () {
    pm.expect(pm.response.code).to.be.within(400, 499);
});`;

/** The collection's bearer token: the main session's (a collection variable). */
const MAIN_SESSION = { bearer: { token: "{{bearerToken}}" } };

/** Portman's overwrites that turn a generated request into the planned one. */
function overwritesOf(op: DocumentOperation, plan: Plan): Json | undefined {
  const out: Json = { openApiOperation: op.key };
  if (plan.path) {
    out.overwriteRequestPathVariables = Object.entries(plan.path).map(([key, value]) => ({
      key,
      value,
    }));
  }
  if (plan.headers) {
    out.overwriteRequestHeaders = Object.entries(plan.headers).map(([key, value]) => ({
      key,
      value,
    }));
  }
  if (plan.query) {
    const query = plan.query;
    const generated = (op.operation.parameters ?? []).filter((p: Json) => p.in === "query")
      .map((p: Json) => p.name as string);
    out.overwriteRequestQueryParams = [
      ...generated.filter((name: string) => !(name in query)).map((key: string) => ({
        key,
        disable: true,
      })),
      ...Object.entries(query).map(([key, value]) => ({ key, value })),
    ];
  }
  if (plan.body !== undefined) {
    out.overwriteRequestBody = [{ key: ".", value: plan.body, overwrite: true }];
  }
  if (plan.token) out.overwriteRequestSecurity = { bearer: { token: plan.token } };
  return Object.keys(out).length > 1 ? out : undefined;
}

/**
 * The Portman configuration: `plans` must name every operation of `doc`; `token` is the main
 * session's, `checkScript` the path of the collection test script.
 */
export function portmanConfig(
  doc: Json,
  plans: Record<string, Plan>,
  options: { token: string; checkScript: string },
): Json {
  const operations = operationsOf(doc);
  const unplanned = operations.filter((op) => !plans[op.key]).map((op) => op.key);
  if (unplanned.length > 0) {
    throw new Error(`no Portman plan for ${unplanned.join(", ")} (tests/support/portman_plans.ts)`);
  }
  const unknown = Object.keys(plans).filter((key) => !operations.some((op) => op.key === key));
  if (unknown.length > 0) throw new Error(`plans for no operation: ${unknown.join(", ")}`);
  const ownSession = operations.filter((op) => plans[op.key].token).map((op) => op.key);
  const fuzzing = {
    name: FUZZ_VARIATION,
    fuzzing: [{ requestBody: [FUZZ] }, { requestQueryParams: [FUZZ] }],
    tests: { extendTests: [{ tests: [CLIENT_ERROR_TEST] }] },
  };
  return {
    version: 1.0,
    tests: {
      contractTests: operations.map((op) => ({
        openApiOperation: op.key,
        openApiResponse: String(plans[op.key].status),
        statusCode: ON,
        contentType: ON,
        jsonBody: ON,
        schemaValidation: ON,
        headersPresent: ON,
      })),
      variationTests: [
        { openApiOperation: "*::/*", excludeForOperations: ownSession, variations: [fuzzing] },
        // Fuzzed requests of an operation planned on a session of its own (which the run may
        // end) are sent on the main session, so they reach the route's validation.
        ...ownSession.map((key) => ({
          openApiOperation: key,
          variations: [{ ...fuzzing, overwrites: [{ overwriteRequestSecurity: MAIN_SESSION }] }],
        })),
      ],
    },
    overwrites: operations.map((op) => overwritesOf(op, plans[op.key])).filter(Boolean),
    operationPreRequestScripts: operations.filter((op) => plans[op.key].preRequest).map((op) => ({
      openApiOperation: op.key,
      scripts: plans[op.key].preRequest,
    })),
    globals: {
      collectionVariables: { bearerToken: options.token },
      collectionTestScripts: [`file:${options.checkScript}`],
      orderOfOperations: ORDER,
    },
  };
}
