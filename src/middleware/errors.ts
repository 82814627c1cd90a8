/**
 * The HTTP edge of errors: Hono's onError and notFound handlers, which answer every failure as
 * problem+json (405 with `Allow` for known paths).
 */
import type { Context, ErrorHandler, Hono, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../app_types.ts";
import { AppError, problem, problemBody, toAppError } from "../errors.ts";
import type { Logger } from "../platform/logger.ts";

/** Sends an AppError as problem+json, keeping the headers it carries (Retry-After, Allow, ...). */
export function sendProblem(c: Context<AppEnv>, error: AppError): Response {
  const response = c.body(JSON.stringify(problemBody(error, c.get("requestId"))), {
    // deno-lint-ignore no-explicit-any
    status: error.status as any,
    headers: { "content-type": "application/problem+json", ...error.headers },
  });
  return response;
}

function fromHttpException(error: HTTPException): AppError {
  if (error.status === 413) return problem("payload_too_large");
  if (error.status === 400) {
    return problem("bad_request", { detail: "The request is malformed" });
  }
  return new AppError(error.status, "http_error");
}

/** Hono's onError: known errors keep their status and code, the rest become a logged 500. */
export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return function onError(error, c) {
    const appError = error instanceof HTTPException ? fromHttpException(error) : toAppError(error);
    if (appError.status >= 500) {
      logger.error("unhandled error", {
        request_id: c.get("requestId"),
        path: c.req.path,
        error: error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : String(error),
        // Why a dependency failed (a provider that cannot be reached): what an operator needs.
        ...(error instanceof Error && error.cause instanceof Error
          ? { cause: { name: error.cause.name, message: error.cause.message } }
          : {}),
      });
    }
    return sendProblem(c, appError);
  };
}

type RouteIndex = Array<{ pattern: RegExp; methods: Set<string> }>;

function compilePath(path: string): RegExp {
  const source = path.split("/").map((part) => {
    if (part === "*") return ".*";
    if (part.startsWith(":")) return "[^/]+";
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${source}/?$`);
}

function indexRoutes(app: Hono<AppEnv>): RouteIndex {
  const byPath = new Map<string, Set<string>>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.endsWith("*")) continue;
    const methods = byPath.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
    byPath.set(route.path, methods);
  }
  return [...byPath].map(([path, methods]) => ({ pattern: compilePath(path), methods }));
}

/**
 * The answer to an unknown route: the path guard hears of it (`onNotFound`), then a
 * problem+json 404. Also what a route hidden from a client answers (ADMIN_ALLOWED_IPS).
 */
export function unknownRoute(
  onNotFound?: (c: Context<AppEnv>) => void | Promise<void>,
): (c: Context<AppEnv>) => Promise<Response> {
  return async function answerUnknown(c) {
    await onNotFound?.(c);
    return sendProblem(c, problem("not_found", { detail: "No such route" }));
  };
}

/**
 * Hono's notFound: 405 with `Allow` when the path exists under other methods, else a
 * problem+json 404. The route index is built once, on the first miss.
 */
export function notFoundHandler(
  app: Hono<AppEnv>,
  onNotFound?: (c: Context<AppEnv>) => void | Promise<void>,
): NotFoundHandler<AppEnv> {
  let index: RouteIndex | undefined;
  const answerUnknown = unknownRoute(onNotFound);
  return async function notFound(c) {
    index ??= indexRoutes(app);
    const allowed = new Set<string>();
    for (const route of index) {
      if (route.pattern.test(c.req.path)) route.methods.forEach((m) => allowed.add(m));
    }
    if (allowed.size > 0 && c.req.method !== "OPTIONS") {
      const allow = [...allowed].sort().join(", ");
      return sendProblem(
        c,
        problem("method_not_allowed", {
          detail: `${c.req.method} is not supported here`,
          headers: { allow },
        }),
      );
    }
    return await answerUnknown(c);
  };
}
