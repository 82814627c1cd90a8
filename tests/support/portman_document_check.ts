/**
 * The collection test script of the Portman run: Postman runs it after every request, fuzzed
 * or not. Portman's own contract tests hold a request to the one response its configuration
 * names; this script holds every answer to the response the document lists for its operation
 * and ITS status (a fuzzed request's 422, a 404, ...): the status is listed, the content type
 * is the documented one (no body where none is described), the JSON body is valid against that
 * status's schema (a problem's `code` among those listed), and it is never a 5xx.
 * @module
 */
import { operationsOf } from "./portman_config.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** The formats ajv 6, in Postman's sandbox, may ignore: Portman's own list. */
const UNKNOWN_FORMATS = ["int32", "int64", "float", "double"];

/** The script's logic; `citadel` (the operations' responses and the schemas) precedes it. */
const CHECK = `
(function () {
  function resolve(node) {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== "object") return node;
    if (typeof node.$ref === "string") {
      return resolve(citadel.schemas[node.$ref.replace("#/components/schemas/", "")]);
    }
    var out = {};
    Object.keys(node).forEach(function (key) { out[key] = resolve(node[key]); });
    return out;
  }
  function matches(template, path) {
    var a = template.split("/"), b = path.split("/");
    return a.length === b.length && a.every(function (part, i) {
      return /^\\{\\w+\\}$/.test(part) ? b[i].length > 0 : part === b[i];
    });
  }
  var method = pm.request.method;
  var path = pm.request.url.getPath();
  var found = citadel.operations.filter(function (op) {
    return op[0] === method && matches(op[1], path);
  });
  var op = found[0];
  var code = pm.response.code;
  var name = "[" + method + "]::" + (op ? op[1] : path);
  pm.test(name + " - never a 5xx", function () {
    pm.expect(code, pm.response.text().slice(0, 300)).to.be.below(500);
  });
  pm.test(name + " - answer " + code + " as the document lists it", function () {
    pm.expect(op, "an operation of the document answers " + method + " " + path).to.be.ok;
    var documented = op[2][String(code)];
    pm.expect(documented, "status " + code + " listed for " + op[1]).to.not.be.undefined;
    var type = (pm.response.headers.get("Content-Type") || "").split(";")[0].trim();
    if (documented === null) {
      pm.expect(pm.response.text(), "no body where none is described").to.equal("");
      return;
    }
    pm.expect(Object.keys(documented), "the content type").to.include(type);
    if (/json$/.test(type)) {
      pm.response.to.have.jsonSchema(resolve(documented[type]), {
        unknownFormats: citadel.unknownFormats,
      });
    }
  });
})();
`;

/** Each status's content (type -> schema), or null for a status described without a body. */
function responsesOf(responses: Json): Json {
  return Object.fromEntries(
    Object.entries<Json>(responses).map(([status, response]) => [
      status,
      response.content
        ? Object.fromEntries(
          Object.entries<Json>(response.content).map(([type, media]) => [type, media.schema]),
        )
        : null,
    ]),
  );
}

/** The collection test script for the operations of `doc`. */
export function documentCheckScript(doc: Json): string {
  const operations = operationsOf(doc)
    // A literal segment wins over a parameter (`/passkeys/options` before `/passkeys/{id}`).
    .sort((a, b) => a.template.split("{").length - b.template.split("{").length)
    .map((op) => [op.method, op.template, responsesOf(op.operation.responses)]);
  const citadel = {
    operations,
    schemas: doc.components?.schemas ?? {},
    unknownFormats: UNKNOWN_FORMATS,
  };
  return `// Every answer as citadel's OpenAPI document lists it (tests/support/portman_document_check.ts)
var citadel = ${JSON.stringify(citadel)};
${CHECK}`;
}
