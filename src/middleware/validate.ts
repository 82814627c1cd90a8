import { zValidator } from "@hono/zod-validator";
import type { ZodType } from "zod";
import { errors, type FieldError } from "../errors.ts";

type Target = "json" | "query" | "param";

/** Turns zod issues into the `errors` list of a 422 problem, without zod internals. */
export function fieldErrors(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string }>,
): FieldError[] {
  return issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "body",
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * @hono/zod-validator with citadel's failure shape: 422 `validation_failed` listing each
 * invalid field.
 */
export function validate<T extends ZodType, K extends Target>(target: K, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw errors.validation(fieldErrors(result.error.issues));
  });
}
