/**
 * The HTTP Observatory scorer for tests, over a `Response`. The rules live in
 * src/tools/check/observatory.ts, which `citadel check --url` uses too; this keeps
 * the shape the HTTP hardening tests were written against.
 */
import { classifyRedirection, gradeObservatory } from "../../src/tools/check/observatory.ts";

/** One test's outcome: the Observatory's result name and its score modifier. */
export interface TestOutcome {
  result: string;
  modifier: number;
}

/** What the scorer needs besides the response itself. */
export interface ObservatoryInput {
  /** The response scored (the Observatory's "auto" response). */
  response: Response;
  /** Whether it was fetched over HTTPS with a valid certificate. */
  https: boolean;
  /**
   * The answer of the plain-HTTP listener for the same host, or `"no-http"` when the
   * host does not listen on plain HTTP (no redirection needed). Defaults to "no-http".
   */
  httpResponse?: Response | "no-http";
  /** The scanned host name; defaults to the response URL's host, else localhost. */
  host?: string;
  /** A response to a request sent with a foreign `Origin`, and that origin. */
  cors?: { origin: string; response: Response };
}

/** The score, grade and per-test outcomes. */
export interface ObservatoryResult {
  score: number;
  grade: string;
  tests: Record<string, TestOutcome>;
}

function visitedFrom(http: Response | "no-http" | undefined, host: string): string[] | undefined {
  if (http === undefined || http === "no-http") return undefined;
  const start = `http://${host}/`;
  const location = http.headers.get("location");
  const redirected = http.status >= 300 && http.status < 400 && location !== null;
  return redirected ? [start, new URL(location, start).href] : [start];
}

/** Scores a response the way the HTTP Observatory scores a site. Reads the body (for SRI). */
export async function observatoryScore(input: ObservatoryInput): Promise<ObservatoryResult> {
  const host = input.host ?? new URL(input.response.url || "https://localhost/").hostname;
  const url = input.response.url || `${input.https ? "https" : "http"}://${host}/`;
  const body = input.response.bodyUsed ? "" : await input.response.clone().text();
  const grade = gradeObservatory({
    response: { url, status: input.response.status, headers: input.response.headers, body },
    https: input.https,
    redirection: classifyRedirection(visitedFrom(input.httpResponse, host)),
    cors: input.cors && { origin: input.cors.origin, headers: input.cors.response.headers },
  });
  const tests = Object.fromEntries(
    grade.tests.map(({ name, result, modifier }) => [name, { result, modifier }]),
  );
  return { score: grade.score, grade: grade.grade, tests };
}
