/**
 * What the console's forms share: which form of a page failed and its errors, the error of a
 * field, the whole-form error, the status an API failure is answered with, the step-up
 * redirect, and the user as `GET /api/v1/me` shows it.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ApiAnswer } from "./api.ts";
import type { FieldErrors } from "./layout.tsx";
import { reauthenticateHref } from "./admin_parts.tsx";

export { statusOf } from "./admin_parts.tsx";

/** The user as `GET /api/v1/me` shows it. */
export interface MeView {
  id: string;
  email: string;
  name: string | null;
  role: string;
  email_verified: boolean;
  mfa_enabled: boolean;
  recovery_codes_left: number;
  has_password: boolean;
}

/** Which form of the page failed, and its errors. */
export interface FormErrors {
  form: string;
  errors: FieldErrors;
}

/** Where a step-up refusal sends the user: the reauthentication page, then back. */
export function stepUpRedirect(c: Context<AppEnv>, answer: ApiAnswer<unknown>, back: string) {
  const code = (answer.body as { code?: string } | undefined)?.code;
  return code === "reauthentication_required"
    ? c.redirect(reauthenticateHref(back), 303)
    : undefined;
}

/** The error of `field` in `failed` when it is the form `form`. */
export const errorOf = (failed: FormErrors | undefined, form: string, field: string) =>
  failed?.form === form ? failed.errors[field] : undefined;

/** A form's whole-form error, announced. */
export function FormError(props: { failed?: FormErrors; form: string }) {
  const text = props.failed?.form === props.form ? props.failed.errors._ : undefined;
  return text ? <p class="error" role="alert">{text}</p> : null;
}
