/**
 * Every answer a route test receives, checked against the app's own OpenAPI document: the
 * status must be one the operation lists, the content type one it names, and the body valid
 * against that response's schema (a problem's `code` among those listed for the status). Only
 * operations whose handler is `documented` are held to it, so routes are described one by one.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { Hono } from "hono";
import { docOf } from "../../src/lib/route_docs.ts";
import { isApiPath, openApiDocument } from "../../src/routes/openapi_document.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  pointer: string;
  responses: Json;
}

interface Checker {
  ajv: Ajv2020;
  operations: Operation[];
}

const checkers = new WeakMap<object, Checker>();
/** Apps of one configuration describe themselves alike: their checker is compiled once. */
const byDocument = new Map<string, Checker>();

/** `~` and `/` escaped for a JSON pointer. */
const escape = (part: string) => part.replaceAll("~", "~0").replaceAll("/", "~1");

function checkerOf(app: Hono<never>): Checker {
  let checker = checkers.get(app);
  if (checker) return checker;
  const doc = openApiDocument(app, { version: "test" });
  const documented = new Set(
    app.routes.filter((r) => isApiPath(r.path) && docOf(r.handler)?.kind === "operation")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  const key = JSON.stringify([doc, [...documented]]);
  const known = byDocument.get(key);
  if (known) {
    checkers.set(app, known);
    return known;
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc, "openapi");
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(methods)) {
      if (!documented.has(`${method} ${template}`)) continue;
      const source = template.split("/").map((s) =>
        /^\{\w+\}$/.test(s) ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      ).join("/");
      operations.push({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${source}$`),
        pointer: `openapi#/paths/${escape(template)}/${method}`,
        responses: op.responses,
      });
    }
  }
  // A literal segment wins over a parameter (`/identities/link` before `/identities/{id}`).
  operations.sort((a, b) => a.template.split("{").length - b.template.split("{").length);
  checker = { ajv, operations };
  checkers.set(app, checker);
  byDocument.set(key, checker);
  return checker;
}

/**
 * Throws when `response` (to `method` `path` on `app`) is not what the document says that
 * operation answers; passes answers of routes not (yet) documented.
 */
export async function checkAgainstDocument(
  app: Hono<never>,
  method: string,
  path: string,
  response: Response,
): Promise<void> {
  const { ajv, operations } = checkerOf(app);
  const pathname = path.split("?")[0];
  const op = operations.find((o) => o.method === method && o.pattern.test(pathname));
  if (!op) return;
  const where = `${method} ${op.template} answered ${response.status}`;
  const status = String(response.status);
  const documented = op.responses[status];
  if (!documented) {
    throw new Error(`${where}, a status the OpenAPI document does not list for it`);
  }
  const text = await response.text();
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  const content = documented.content as Json | undefined;
  if (!content) {
    if (text.length > 0) throw new Error(`${where} with a body the document does not describe`);
    return;
  }
  if (!Object.hasOwn(content, type)) {
    throw new Error(`${where} as ${type || "no content type"}, not ${Object.keys(content)}`);
  }
  const pointer = `${op.pointer}/responses/${status}/content/${escape(type)}/schema`;
  const validate = ajv.getSchema(pointer);
  if (!validate) throw new Error(`No schema at ${pointer}`);
  const body = type.endsWith("json") ? JSON.parse(text) : text;
  if (!validate(body)) {
    throw new Error(
      `${where} with a body that does not match the document: ` +
        `${ajv.errorsText(validate.errors)}; body: ${text.slice(0, 500)}`,
    );
  }
}
