/**
 * Request body reading and limits: size, content type, UTF-8, JSON depth and string length,
 * checked once before any handler.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";

/** Limits of {@linkcode jsonBody}. */
export interface JsonBodyOptions {
  maxBytes: number;
  maxDepth: number;
  maxStringLength: number;
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const tooLarge = (max: number) =>
  problem("payload_too_large", { detail: `The body must be at most ${max} bytes` });

async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge(max);
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function checkShape(value: unknown, options: JsonBodyOptions, depth: number): void {
  if (typeof value === "string") {
    if (value.length > options.maxStringLength) {
      throw problem("json_limits_exceeded", {
        detail: `Strings in the body must be at most ${options.maxStringLength} characters`,
      });
    }
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (depth >= options.maxDepth) {
    throw problem("json_limits_exceeded", {
      detail: `The body must be nested at most ${options.maxDepth} levels deep`,
    });
  }
  const children = Array.isArray(value) ? value : Object.entries(value).flat();
  for (const child of children) checkShape(child, options, depth + 1);
}

// Hono keeps body promises in bodyCache (its type says otherwise); later c.req.json()
// and validators then read the text we already decoded instead of the spent stream.
function cacheText(cache: object, text: string): void {
  (cache as { text?: Promise<string> }).text = Promise.resolve(text);
}

/**
 * Reads request bodies once, before any handler: 413 over the size limit (declared or
 * streamed), 415 when a body is not JSON, 400 for non-UTF-8 bytes, malformed JSON or
 * JSON over the depth and string limits. The decoded text is cached for validators.
 */
export function jsonBody(options: JsonBodyOptions): MiddlewareHandler<AppEnv> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  return async function jsonBodyHandler(c, next) {
    if (!BODY_METHODS.has(c.req.method)) return next();
    const bytes = await readLimited(c.req.raw, options.maxBytes);
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0].trim();
    if (bytes.byteLength === 0) {
      // An empty body labelled JSON reads as `{}`: a route that needs fields answers 422 with
      // each one, a route without a body (or with only optional fields) just works.
      cacheText(c.req.bodyCache, JSON_TYPE.test(mediaType) ? "{}" : "");
      return next();
    }
    if (!JSON_TYPE.test(mediaType)) {
      throw problem("unsupported_media_type", {
        detail: "Send the body as application/json",
      });
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw problem("invalid_encoding", { detail: "The body must be valid UTF-8" });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw problem("malformed_json", { detail: "The body is not valid JSON" });
    }
    checkShape(value, options, 0);
    cacheText(c.req.bodyCache, text);
    return next();
  };
}
