/**
 * Request validation with zod: the `validate` middleware and the 422 `validation_failed` field
 * list it answers with.
 */
import type { Context } from "hono";
import { zValidator } from "@hono/zod-validator";
import type * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import type { ZodType } from "zod";
import { errors, type FieldError } from "../errors.ts";
import { type InputTarget, withDoc } from "../lib/route_docs.ts";

type Target = InputTarget;

type Issue = { path: PropertyKey[]; message: string; code?: string; expected?: unknown };

// zod's default wording ("Invalid input: expected string, received undefined") is written
// for developers; clients get a sentence about their field instead.
function messageOf(issue: Issue): string {
  if (issue.code !== "invalid_type" || !issue.message.startsWith("Invalid input")) {
    return issue.message;
  }
  if (/received undefined/.test(issue.message)) return "is required";
  return typeof issue.expected === "string" ? `must be a ${issue.expected}` : issue.message;
}

/** Turns zod issues into the `errors` list of a 422 problem, without zod internals. */
export function fieldErrors(issues: ReadonlyArray<Issue>): FieldError[] {
  return issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "body",
    message: messageOf(issue),
    code: issue.code,
  }));
}

/**
 * @hono/zod-validator with citadel's failure shape: 422 `validation_failed` listing each
 * invalid field. The schema is also the route's input in the OpenAPI description.
 */
export function validate<T extends ZodType, K extends Target>(target: K, schema: T) {
  const handler = zValidator(target, schema, (result) => {
    if (!result.success) throw errors.validation(fieldErrors(result.error.issues));
  });
  return withDoc(handler, { kind: "input", target, schema });
}

/**
 * The context of a handler behind `validate(target, schema)` for each entry of `S`. Hono cannot
 * infer it through `documented(doc, handler)` (a generic wrapper hides the handler from the
 * route's overloads), so documented handlers name it.
 */
export type Validated<S extends { [K in Target]?: ZodType }> = Context<AppEnv, string, {
  in: { [K in keyof S]: S[K] extends ZodType ? z.input<S[K]> : never };
  out: { [K in keyof S]: S[K] extends ZodType ? z.output<S[K]> : never };
}>;
