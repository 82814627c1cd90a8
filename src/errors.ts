/**
 * Errors as clients see them: every problem code and its HTTP status (`PROBLEM_STATUS`, the
 * one place an outcome becomes a status), `problem(code)` to raise one, and the RFC 9457
 * problem+json body.
 * @module
 */

/** One invalid field of a request, as listed in a problem's `errors`. */
export interface FieldError {
  field: string;
  message: string;
  code?: string;
}

/** Options of an {@linkcode AppError} beyond its status and code. */
export interface AppErrorOptions {
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  cause?: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * Every problem code citadel answers with, and its HTTP status: the one place where an
 * outcome becomes a status. Services and middleware raise problems by code with
 * {@linkcode problem}; only the HTTP edge reads the status.
 */
export const PROBLEM_STATUS = {
  bad_request: 400,
  invalid_encoding: 400,
  invalid_host: 400,
  json_limits_exceeded: 400,
  malformed_json: 400,
  passkey_registration_failed: 400,
  invalid_redirect: 400,
  invalid_state: 400,
  invalid_oauth_code: 400,
  unauthorized: 401,
  invalid_api_key: 401,
  invalid_credentials: 401,
  invalid_mfa_code: 401,
  invalid_mfa_token: 401,
  invalid_passkey: 401,
  invalid_refresh_token: 401,
  invalid_token: 401,
  refresh_token_expired: 401,
  refresh_token_reused: 401,
  forbidden: 403,
  client_blocked: 403,
  cors_rejected: 403,
  csrf_rejected: 403,
  insufficient_scope: 403,
  mfa_enrollment_required: 403,
  reauthentication_required: 403,
  email_not_verified: 403,
  registration_disabled: 403,
  session_required: 403,
  not_found: 404,
  key_not_found: 404,
  passkey_not_found: 404,
  identity_not_found: 404,
  method_not_allowed: 405,
  api_key_limit_reached: 409,
  email_taken: 409,
  passkey_already_registered: 409,
  passkey_limit_reached: 409,
  identity_taken: 409,
  last_sign_in_method: 409,
  mfa_already_enabled: 409,
  mfa_not_enabled: 409,
  mfa_enrollment_not_started: 409,
  last_super_admin: 409,
  rotation_too_early: 409,
  keys_in_configuration: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  too_many_attempts: 429,
  internal_error: 500,
  email_not_configured: 503,
  guard_unavailable: 503,
  check_unavailable: 503,
  mfa_unavailable: 503,
  not_ready: 503,
  passkeys_unavailable: 503,
  provider_unavailable: 503,
  shutting_down: 503,
} as const;

/** A stable problem code; see {@linkcode PROBLEM_STATUS}. */
export type ProblemCode = keyof typeof PROBLEM_STATUS;

/**
 * An error with a public status, stable code and message; its `cause` stays private
 * (logged, never sent).
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, options: AppErrorOptions = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = "AppError";
    this.status = status;
    this.code = code;
    this.detail = options.detail ?? TITLES[status] ?? "Error";
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/**
 * The one problem answered with another status than {@linkcode PROBLEM_STATUS} gives its code:
 * an email link's token that is unknown, expired or used (see `errors.invalidLinkToken`).
 */
export const LINK_TOKEN_PROBLEM = { code: "invalid_token", status: 400 } as const;

/** Raises the problem `code`, answered with the status {@linkcode PROBLEM_STATUS} gives it. */
export function problem(code: ProblemCode, options: AppErrorOptions = {}): AppError {
  return new AppError(PROBLEM_STATUS[code], code, options);
}

/** The RFC 9457 body of a problem. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  request_id?: string;
}

/** Builds the problem+json body for an error; unknown errors become a generic 500. */
export function problemBody(error: AppError, requestId?: string): ProblemBody {
  const body: ProblemBody = {
    type: `https://citadel.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: TITLES[error.status] ?? "Error",
    status: error.status,
    detail: error.detail,
    code: error.code,
  };
  if (error.errors) body.errors = error.errors;
  if (requestId) body.request_id = requestId;
  return body;
}

/** Converts anything thrown into an AppError, hiding what is not meant for clients. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return problem("internal_error", {
    detail: "The server could not complete the request",
    cause: error,
  });
}

/** A problem+json Response for code paths outside Hono's error handler. */
export function problemResponse(error: AppError, requestId?: string): Response {
  return new Response(JSON.stringify(problemBody(error, requestId)), {
    status: error.status,
    headers: { "content-type": "application/problem+json", ...error.headers },
  });
}

/** Shorthands for errors raised in many places. */
export const errors = {
  validation: (fieldErrors: FieldError[]) =>
    problem("validation_failed", {
      detail: "The request has invalid fields",
      errors: fieldErrors,
    }),
  unauthorized: (
    code: "unauthorized" | "invalid_token" = "unauthorized",
    detail = "Authentication is required",
  ) => problem(code, { detail, headers: { "www-authenticate": 'Bearer realm="citadel"' } }),
  forbidden: (detail = "You do not have permission to do this") => problem("forbidden", { detail }),
  notFound: (detail = "The requested resource does not exist") => problem("not_found", { detail }),
  emailTaken: () => problem("email_taken", { detail: "This email is already registered" }),
  /**
   * A token from an email link that is unknown, expired or used: 400 `invalid_token`. The code
   * is the one a bad access token has (401), but here no credential of the caller failed:
   * the request's content did, so it is a 400 (the email issue's contract).
   */
  invalidLinkToken: () =>
    new AppError(LINK_TOKEN_PROBLEM.status, LINK_TOKEN_PROBLEM.code, {
      detail: "The link is unknown, expired or already used; ask for a new one",
    }),
};
