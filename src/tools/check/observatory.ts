/**
 * The Mozilla HTTP Observatory's scoring (the MDN observatory's published tests and
 * score table) applied to one real response: CSP, cookies, CORS, redirection,
 * Referrer-Policy, HSTS, SRI, X-Content-Type-Options, X-Frame-Options and CORP.
 *
 * Start at 100 and add the penalties; when that is still 90 or more, add the bonuses
 * too. 100 or more is A+. Left out, since they need outside data: the HSTS preload
 * list (+5), crossdomain.xml / clientaccesspolicy.xml, and `<meta http-equiv>` tags.
 */
import { gradeCookies, gradeSri } from "./observatory_content.ts";
import {
  cspSetsFrameAncestors,
  gradeCsp,
  type ObservatoryResult,
  parseCsp,
} from "./observatory_csp.ts";

export type { ObservatoryResult } from "./observatory_csp.ts";

/** A fetched response, with its body read. */
export interface ObservedResponse {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/** Everything one grading needs. */
export interface ObservatoryInput {
  response: ObservedResponse;
  /** Fetched over HTTPS with a valid certificate; default: the response URL is https. */
  https?: boolean;
  /** From {@linkcode classifyRedirection}; default: nothing listens on plain HTTP. */
  redirection?: ObservatoryResult;
  /** The answer to a request sent with a foreign `Origin`, and that origin. */
  cors?: { origin: string; headers: Headers };
}

/** One test's outcome; `pass` when its modifier is not negative. */
export interface ObservatoryTest extends ObservatoryResult {
  name: string;
  pass: boolean;
}

/** The score (0 up; 100+ is A+), letter grade and every test. */
export interface ObservatoryGrade {
  score: number;
  grade: string;
  tests: ObservatoryTest[];
}

const GRADES: Array<[number, string]> = [
  [100, "A+"],
  [90, "A"],
  [85, "A-"],
  [80, "B+"],
  [70, "B"],
  [65, "B-"],
  [60, "C+"],
  [50, "C"],
  [45, "C-"],
  [40, "D+"],
  [30, "D"],
  [25, "D-"],
  [0, "F"],
];

/** The letter grade of a score. */
export function gradeForScore(score: number): string {
  return GRADES.find(([min]) => score >= min)![1];
}

/**
 * Grades the plain-HTTP entry of a site from the URLs its redirects visited
 * (`visited[0]` is the http:// URL asked for), or from undefined when nothing answered
 * on plain HTTP.
 */
export function classifyRedirection(visited: readonly string[] | undefined): ObservatoryResult {
  if (!visited) return { result: "redirection-not-needed-no-http", modifier: 0 };
  if (visited.length < 2) return { result: "redirection-missing", modifier: -20 };
  const [start, first] = visited.map((u) => new URL(u));
  const final = new URL(visited[visited.length - 1]);
  if (final.protocol !== "https:") return { result: "redirection-not-to-https", modifier: -20 };
  if (first.protocol !== "https:") {
    return { result: "redirection-not-to-https-on-initial-redirection", modifier: -10 };
  }
  if (first.hostname !== start.hostname) {
    return { result: "redirection-off-host-from-http", modifier: -5 };
  }
  return { result: "redirection-to-https", modifier: 0 };
}

// Six months is 15768000 s; the Observatory accepts the common 15552000 (180 days).
const SIX_MONTHS = 15_552_000;

function hsts(headers: Headers, https: boolean): ObservatoryResult {
  if (!https) return { result: "hsts-not-implemented-no-https", modifier: -20 };
  const value = headers.get("strict-transport-security");
  if (value === null) return { result: "hsts-not-implemented", modifier: -20 };
  // A comma means the header was sent twice.
  if (value.includes(",")) return { result: "hsts-header-invalid", modifier: -20 };
  let maxAge: number | undefined;
  for (const part of value.split(";").map((p) => p.trim().toLowerCase())) {
    if (part.startsWith("max-age=")) maxAge = Number.parseInt(part.slice(8, 128), 10);
  }
  if (maxAge === undefined || Number.isNaN(maxAge)) {
    return { result: "hsts-header-invalid", modifier: -20 };
  }
  return maxAge < SIX_MONTHS
    ? { result: "hsts-implemented-max-age-less-than-six-months", modifier: -10 }
    : { result: "hsts-implemented-max-age-at-least-six-months", modifier: 0 };
}

function cors(probe: ObservatoryInput["cors"]): ObservatoryResult {
  const allowed = probe?.headers.get("access-control-allow-origin")?.trim().toLowerCase();
  if (!probe || !allowed) {
    return { result: "cross-origin-resource-sharing-not-implemented", modifier: 0 };
  }
  if (allowed === "*") {
    return { result: "cross-origin-resource-sharing-implemented-with-public-access", modifier: 0 };
  }
  const credentials = probe.headers.get("access-control-allow-credentials")?.trim().toLowerCase();
  return allowed === probe.origin.toLowerCase() && credentials === "true"
    ? { result: "cross-origin-resource-sharing-implemented-with-universal-access", modifier: -50 }
    : { result: "cross-origin-resource-sharing-implemented-with-restricted-access", modifier: 0 };
}

const PRIVATE_REFERRER = [
  "no-referrer",
  "same-origin",
  "strict-origin",
  "strict-origin-when-cross-origin",
];
const UNSAFE_REFERRER = [
  "origin",
  "origin-when-cross-origin",
  "unsafe-url",
  "no-referrer-when-downgrade",
];

function referrer(headers: Headers): ObservatoryResult {
  const value = headers.get("referrer-policy");
  if (value === null) return { result: "referrer-policy-not-implemented", modifier: 0 };
  // Browsers apply the last policy they understand.
  const policy = value.split(",").map((p) => p.trim().toLowerCase())
    .filter((p) => PRIVATE_REFERRER.includes(p) || UNSAFE_REFERRER.includes(p)).at(-1);
  if (policy === undefined) return { result: "referrer-policy-header-invalid", modifier: -5 };
  return PRIVATE_REFERRER.includes(policy)
    ? { result: "referrer-policy-private", modifier: 5 }
    : { result: "referrer-policy-unsafe", modifier: -5 };
}

function contentTypeOptions(headers: Headers): ObservatoryResult {
  const value = headers.get("x-content-type-options");
  if (value === null) return { result: "x-content-type-options-not-implemented", modifier: -5 };
  return value.trim().toLowerCase() === "nosniff"
    ? { result: "x-content-type-options-nosniff", modifier: 0 }
    : { result: "x-content-type-options-header-invalid", modifier: -5 };
}

function frameOptions(headers: Headers, viaCsp: boolean): ObservatoryResult {
  if (viaCsp) return { result: "x-frame-options-implemented-via-csp", modifier: 5 };
  const value = headers.get("x-frame-options")?.trim().toLowerCase();
  if (value === undefined) return { result: "x-frame-options-not-implemented", modifier: -20 };
  if (value === "deny" || value === "sameorigin") {
    return { result: "x-frame-options-sameorigin-or-deny", modifier: 0 };
  }
  return value.startsWith("allow-from")
    ? { result: "x-frame-options-allow-from-origin", modifier: 0 }
    : { result: "x-frame-options-header-invalid", modifier: -20 };
}

function resourcePolicy(headers: Headers): ObservatoryResult {
  const value = headers.get("cross-origin-resource-policy")?.trim().toLowerCase();
  if (value === undefined) return { result: "corp-not-implemented", modifier: 0 };
  if (value === "same-origin") return { result: "corp-implemented-with-same-origin", modifier: 10 };
  if (value === "same-site") return { result: "corp-implemented-with-same-site", modifier: 10 };
  if (value === "cross-origin") {
    return { result: "corp-implemented-with-cross-origin", modifier: 0 };
  }
  return { result: "corp-header-invalid", modifier: -5 };
}

/** Runs the ten Observatory tests on one response and scores them. */
export function gradeObservatory(input: ObservatoryInput): ObservatoryGrade {
  const { headers, body, url } = input.response;
  const https = input.https ?? url.startsWith("https:");
  const csp = parseCsp(headers);
  const hstsResult = hsts(headers, https);
  const results: Array<[string, ObservatoryResult]> = [
    ["content-security-policy", gradeCsp(csp, https)],
    ["cookies", gradeCookies(headers, hstsResult.modifier === 0)],
    ["cross-origin-resource-sharing", cors(input.cors)],
    ["redirection", input.redirection ?? classifyRedirection(undefined)],
    ["referrer-policy", referrer(headers)],
    ["strict-transport-security", hstsResult],
    ["subresource-integrity", gradeSri(headers, body, url)],
    ["x-content-type-options", contentTypeOptions(headers)],
    ["x-frame-options", frameOptions(headers, cspSetsFrameAncestors(csp))],
    ["cross-origin-resource-policy", resourcePolicy(headers)],
  ];
  const tests = results.map(([name, r]) => ({ name, ...r, pass: r.modifier >= 0 }));
  const penalised = 100 + tests.reduce((n, t) => n + Math.min(0, t.modifier), 0);
  const bonus = tests.reduce((n, t) => n + Math.max(0, t.modifier), 0);
  const score = Math.max(0, penalised >= 90 ? penalised + bonus : penalised);
  return { score, grade: gradeForScore(score), tests };
}
