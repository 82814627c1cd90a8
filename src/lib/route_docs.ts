/**
 * What a route's handlers say about it, for the OpenAPI description: the validator of each
 * input (its zod schema, the one that validates requests), the access rule of the one guard,
 * and the operation's own words (summary, responses, the problem codes it can answer). Each
 * part is attached to the handler function itself, so a route costs nothing more per request
 * for being described, and the description is read from the app's own routes, never from a
 * copy that could drift.
 * @module
 */
import type { ZodType } from "zod";

/** Where a validated input comes from. */
export type InputTarget = "json" | "query" | "param";

/** A response an operation answers, by status. */
export interface ResponseDoc {
  description: string;
  /** The body's schema (JSON unless `contentType` says otherwise); none for an empty body. */
  schema?: ZodType;
  contentType?: string;
  /** Response headers worth naming (`Set-Cookie`, `Location`), with their descriptions. */
  headers?: Record<string, string>;
}

/** The words of one operation. */
export interface OperationDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** Success (and redirect) responses by status. */
  responses: Record<number, ResponseDoc>;
  /**
   * The problem codes the operation itself can answer (the guard's and validator's are added),
   * each under the status PROBLEM_STATUS gives it, or `{code, status}` for one answered with
   * another status (an email link's `invalid_token` is a 400).
   */
  errors?: ReadonlyArray<string | { code: string; status: number }>;
  /** Credentials other than the guard's (the refresh cookie, the OAuth flow cookie). */
  security?: Array<Record<string, string[]>>;
}

/** The access rule of the one guard, as the description shows it. */
export interface AccessDoc {
  scope: string;
  sessionOnly: boolean;
  fresh: boolean;
  admin: boolean;
  superAdmin: boolean;
}

/** One part a handler carries. */
export type RouteDocPart =
  | { kind: "input"; target: InputTarget; schema: ZodType }
  | ({ kind: "access" } & AccessDoc)
  | ({ kind: "operation" } & OperationDoc);

const parts = new WeakMap<object, RouteDocPart>();

/** Attaches `part` to a handler and answers the handler. */
export function withDoc<F extends object>(handler: F, part: RouteDocPart): F {
  parts.set(handler, part);
  return handler;
}

/** The part a handler carries, if any. */
export function docOf(handler: object): RouteDocPart | undefined {
  return parts.get(handler);
}

/** A route's final handler, described: `documented({summary, ...}, (c) => ...)`. */
export function documented<F extends object>(doc: OperationDoc, handler: F): F {
  return withDoc(handler, { kind: "operation", ...doc });
}
