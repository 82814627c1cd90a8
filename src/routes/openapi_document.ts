/**
 * The OpenAPI 3.1 description of citadel's API, built from the app's own routes: each route's
 * validators give its parameters and request body (their zod schemas, as JSON Schema), its
 * guard gives the security requirement, the scope and the guard's problems, and its
 * `documented` handler gives the summary and the success responses. Every failure is
 * problem+json; each operation lists, by status, the codes it can answer.
 * @module
 */
import type { Hono } from "hono";
import * as z from "zod";
import { PROBLEM_STATUS, type ProblemCode } from "../errors.ts";
import {
  type AccessDoc,
  docOf,
  type OperationDoc,
  type ResponseDoc,
  type RouteDocPart,
} from "../lib/route_docs.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** What the document says about citadel itself. */
export interface DocumentInfo {
  version: string;
  /** PUBLIC_URL, the server the document names (else relative to where it was fetched). */
  publicUrl?: string;
}

/** Whether a path is part of the API (the console's pages and assets are HTML, not API). */
export function isApiPath(path: string): boolean {
  return !/^\/(account|admin|console|docs)(\/|$)/.test(path) && !path.endsWith("*");
}

/** `/users/:id` -> `/users/{id}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

/**
 * zod's string checks that JSON Schema names no format for (`"format": "starts_with"` makes
 * validators and generators warn); the `pattern` zod writes beside them says the same.
 */
const PATTERN_FORMATS = new Set(["starts_with", "ends_with", "includes", "lowercase", "uppercase"]);

/** A zod schema as JSON Schema (2020-12, what OpenAPI 3.1 uses), for requests or responses. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    override({ jsonSchema }) {
      const format = jsonSchema.format;
      if (format && PATTERN_FORMATS.has(format) && jsonSchema.pattern) delete jsonSchema.format;
    },
  }) as Json;
  return rest;
}

/** The problems the one guard answers for a rule. */
function guardProblems(access: AccessDoc): ProblemCode[] {
  // authenticate() answers a bad token or key before the rule is read.
  const codes: ProblemCode[] = [
    "unauthorized",
    "invalid_token",
    "invalid_api_key",
    "insufficient_scope",
  ];
  if (access.sessionOnly) codes.push("session_required");
  if (access.admin || access.superAdmin) codes.push("forbidden", "mfa_enrollment_required");
  if (access.fresh) codes.push("reauthentication_required");
  return codes;
}

/** The problems a JSON body can get before its route sees it (middleware/json_body.ts). */
const BODY_PROBLEMS: ProblemCode[] = [
  "malformed_json",
  "json_limits_exceeded",
  "invalid_encoding",
  "payload_too_large",
  "unsupported_media_type",
];

/** The parts of every handler of one route, gathered. */
interface RouteParts {
  inputs: Array<Extract<RouteDocPart, { kind: "input" }>>;
  access?: AccessDoc;
  operation?: OperationDoc;
}

function gather(handlers: object[]): RouteParts {
  const parts: RouteParts = { inputs: [] };
  for (const handler of handlers) {
    const part = docOf(handler);
    if (part?.kind === "input") parts.inputs.push(part);
    else if (part?.kind === "access") parts.access = part;
    else if (part?.kind === "operation") parts.operation = part;
  }
  return parts;
}

/** The parameters of a path or query schema (an object schema's properties). */
function parameters(where: "path" | "query", schema: z.ZodType): Json[] {
  const object = jsonSchema(schema, "input");
  const required = new Set<string>(object.required ?? []);
  return Object.entries<Json>(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    schema: property,
  }));
}

/** A response's object: its description, headers and content. */
function response(doc: ResponseDoc): Json {
  const out: Json = { description: doc.description };
  if (doc.headers) {
    out.headers = Object.fromEntries(
      Object.entries(doc.headers).map(([name, description]) => [
        name,
        { description, schema: { type: "string" } },
      ]),
    );
  }
  if (doc.schema) {
    out.content = {
      [doc.contentType ?? "application/json"]: { schema: jsonSchema(doc.schema, "output") },
    };
  }
  return out;
}

/** A problem code, or one with the status it is answered with. */
type ProblemEntry = string | { code: string; status: number };

/** The problem responses of a set of codes, one per status, each code listed in its enum. */
function problemResponses(codes: Iterable<ProblemEntry>): Record<string, Json> {
  const byStatus = new Map<number, Set<string>>();
  for (const entry of codes) {
    const code = typeof entry === "string" ? entry : entry.code;
    const status = typeof entry === "string" ? PROBLEM_STATUS[code as ProblemCode] : entry.status;
    if (status === undefined) throw new Error(`Unknown problem code ${code}`);
    (byStatus.get(status) ?? byStatus.set(status, new Set()).get(status)!).add(code);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, set]) => [
      String(status),
      {
        description: [...set].sort().join(", "),
        content: {
          "application/problem+json": {
            schema: {
              allOf: [
                { $ref: "#/components/schemas/Problem" },
                { type: "object", properties: { code: { enum: [...set].sort() } } },
              ],
            },
          },
        },
      },
    ]),
  );
}

/** One operation. */
function operation(method: string, path: string, parts: RouteParts): Json {
  const doc = parts.operation;
  // What the app's own middleware can answer on any route, before it: a Host outside
  // ALLOWED_HOSTS, a client the 404 guard blocked, an unexpected failure.
  const codes = new Set<ProblemEntry>([
    ...(doc?.errors ?? []),
    "invalid_host",
    "client_blocked",
    "internal_error",
  ]);
  const op: Json = {
    operationId: `${method.toLowerCase()}${
      path.replace(/[{}]/g, "").split(/[/_.-]/).filter(Boolean)
        .map((s) => s[0].toUpperCase() + s.slice(1)).join("")
    }`,
    summary: doc?.summary ?? `${method} ${path}`,
    tags: doc?.tags ?? [path.split("/")[3] ?? "service"],
    parameters: [] as Json[],
  };
  if (doc?.description) op.description = doc.description;
  for (const input of parts.inputs) {
    if (input.target === "param") op.parameters.push(...parameters("path", input.schema));
    else if (input.target === "query") op.parameters.push(...parameters("query", input.schema));
    else {
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: jsonSchema(input.schema, "input") } },
      };
      codes.add("validation_failed");
    }
    if (input.target !== "json") codes.add("validation_failed");
  }
  // The JSON body parser runs before any route on every method that may carry a body, and
  // the CSRF guard refuses such a request that carries a cookie from a foreign origin.
  if (["POST", "PUT", "PATCH", "DELETE"].includes(method)) {
    for (const code of BODY_PROBLEMS) codes.add(code);
    codes.add("csrf_rejected");
  }
  if (op.parameters.length === 0) delete op.parameters;
  if (parts.access) {
    const { scope, sessionOnly } = parts.access;
    op.security = sessionOnly ? [{ bearer: [] }] : [{ bearer: [] }, { apiKey: [scope] }];
    op["x-required-scope"] = scope;
    for (const code of guardProblems(parts.access)) codes.add(code);
    // The per-principal limit, and its store out of reach.
    codes.add("rate_limited");
    codes.add("guard_unavailable");
  } else {
    op.security = doc?.security ?? [];
  }
  const successes = doc?.responses ?? { 200: { description: "OK" } };
  op.responses = {
    ...Object.fromEntries(
      Object.entries(successes).map(([status, r]) => [status, response(r)]),
    ),
    ...problemResponses(codes),
  };
  return op;
}

/** The document's tags, in the order a reader meets them (the reference page follows it). */
export const TAGS = [
  {
    name: "auth",
    description: "Sign-up and sign-in (password, second factor, passkey, provider), tokens, " +
      "email links",
  },
  {
    name: "me",
    description: "The signed-in user's own account: profile, password, sessions, second " +
      "factor, passkeys, linked providers",
  },
  { name: "api-keys", description: "The caller's own API keys" },
  {
    name: "admin",
    description: "Users, API keys, signing keys and the deployment check, for administrators",
  },
  { name: "audit", description: "The tamper-evident audit log" },
  { name: "service", description: "Health, the public signing keys and this description" },
] as const;

/** The whole OpenAPI 3.1 document of `app`'s API routes. */
export function openApiDocument(app: Hono<never>, info: DocumentInfo): Json {
  const routes = new Map<string, { method: string; path: string; handlers: object[] }>();
  for (const route of app.routes) {
    if (route.method === "ALL" || !isApiPath(route.path)) continue;
    const key = `${route.method} ${route.path}`;
    const entry = routes.get(key) ??
      routes.set(key, { method: route.method, path: route.path, handlers: [] }).get(key)!;
    entry.handlers.push(route.handler);
  }
  const paths: Json = {};
  for (
    const { method, path, handlers } of [...routes.values()].sort((a, b) =>
      a.path.localeCompare(b.path) || a.method.localeCompare(b.method)
    )
  ) {
    const at = openApiPath(path);
    paths[at] ??= {};
    paths[at][method.toLowerCase()] = operation(method, at, gather(handlers));
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "citadel",
      version: info.version,
      description: "Authentication and API-key server. Every failure is problem+json " +
        "(RFC 9457) with a stable `code`.",
    },
    ...(info.publicUrl ? { servers: [{ url: info.publicUrl.replace(/\/$/, "") }] } : {}),
    tags: TAGS,
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A session's access token (`access_token` of a login).",
        },
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "An API key; each operation names the scope it needs.",
        },
        refreshCookie: {
          type: "apiKey",
          in: "cookie",
          name: "__Host-citadel_refresh",
          description: "The refresh token's cookie (with REFRESH_TOKEN_COOKIE on).",
        },
        metricsToken: {
          type: "http",
          scheme: "bearer",
          description: "METRICS_TOKEN, for GET /metrics from outside METRICS_ALLOWED_IPS.",
        },
      },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
  };
}

/** RFC 9457 problem details, with citadel's `code`, field `errors` and `request_id`. */
const PROBLEM_SCHEMA: Json = {
  type: "object",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["field", "message"],
        properties: {
          field: { type: "string" },
          message: { type: "string" },
          code: { type: "string" },
        },
      },
    },
    request_id: { type: "string" },
  },
};
