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
  return new AppError(500, "internal_error", {
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
    new AppError(422, "validation_failed", {
      detail: "The request has invalid fields",
      errors: fieldErrors,
    }),
  unauthorized: (code = "unauthorized", detail = "Authentication is required") =>
    new AppError(401, code, { detail, headers: { "www-authenticate": 'Bearer realm="citadel"' } }),
  forbidden: (detail = "You do not have permission to do this") =>
    new AppError(403, "forbidden", { detail }),
  notFound: (detail = "The requested resource does not exist") =>
    new AppError(404, "not_found", { detail }),
};
