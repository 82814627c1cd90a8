/**
 * `GET /docs`: the API reference, Scalar's page over GET /openapi.json, with every asset
 * served by citadel itself (the script embedded by scripts/vendor_scalar.ts, no CDN, no
 * fonts from elsewhere, no telemetry) under a policy of its own: scripts from this origin
 * only, requests to this origin only (the "Test request" button calls this API).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { PERMISSIONS_POLICY } from "../middleware/secure_headers.ts";
import { SCALAR_INTEGRITY, SCALAR_VERSION } from "./vendor/scalar_release.ts";

/** Where the page and its two scripts are served. */
export const API_REFERENCE_PATH = {
  page: "/docs",
  scalar: `/docs/scalar-${SCALAR_VERSION}.js`,
  start: "/docs/start.js",
} as const;

/**
 * The page's policy: this origin's scripts and nothing else from anywhere. Scalar sets style
 * attributes and adds style elements without the nonce it could read, so styles are allowed
 * inline (a nonce would make browsers ignore 'unsafe-inline'); scripts are never.
 */
export const API_REFERENCE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * Runs before Scalar's script. zod (inside it) probes for `Function("")` to compile its
 * validators, which this policy refuses (a CSP violation report on every visit); `jitless`
 * skips the probe. Once the page is parsed, it starts Scalar on the document with nothing that
 * would reach another site (no fonts, telemetry, AI agent or developer tools).
 */
export const START_SCRIPT = `"use strict";
globalThis.__zod_globalConfig = { jitless: true };
document.addEventListener("DOMContentLoaded", () => {
  Scalar.createApiReference("#reference", {
    url: "/openapi.json",
    withDefaultFonts: false,
    telemetry: false,
    showDeveloperTools: "never",
    agent: { disabled: true },
    hideClientButton: true,
    persistAuth: false,
  });
});
`;

/** The page: a mount point and the two scripts (the icon is empty, so no /favicon.ico). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>citadel API reference</title>
<script src="${API_REFERENCE_PATH.start}"></script>
<script src="${API_REFERENCE_PATH.scalar}" integrity="${SCALAR_INTEGRITY}"></script>
</head>
<body>
<noscript>This reference needs JavaScript; the description itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="reference"></div>
</body>
</html>
`;

let scalarGzip: Promise<Uint8Array<ArrayBuffer>> | undefined;

/**
 * The embedded script's gzip bytes. Its module is imported on first use, not at start: loading
 * the 1.9 MB of base64 takes some 75 ms and 8 MB that a server nobody reads the docs of never
 * needs.
 */
function scalarBytes(): Promise<Uint8Array<ArrayBuffer>> {
  return scalarGzip ??= import("./vendor/scalar_script.ts").then(({ SCALAR_GZIP_BASE64 }) => {
    const binary = atob(SCALAR_GZIP_BASE64.replaceAll("\n", ""));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  });
}

/** Whether the client takes a gzip body (every browser does; others get it decompressed). */
function acceptsGzip(header = ""): boolean {
  return header.split(",").some((part) => {
    const [coding, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    return (coding === "gzip" || coding === "*") && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** The reference page and its scripts. */
export function apiReferenceRoutes() {
  return new Hono<AppEnv>()
    .get(API_REFERENCE_PATH.page, (c) => {
      c.set("pagePolicy", {
        contentSecurityPolicy: API_REFERENCE_POLICY,
        permissionsPolicy: PERMISSIONS_POLICY,
      });
      return c.html(PAGE);
    })
    .get(API_REFERENCE_PATH.start, (c) => {
      c.set("publicCache", true);
      return c.body(START_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8" });
    })
    .get(API_REFERENCE_PATH.scalar, async (c) => {
      c.set("publicCache", true);
      const headers = { "content-type": "text/javascript; charset=utf-8", vary: "accept-encoding" };
      const gzip = await scalarBytes();
      if (acceptsGzip(c.req.header("accept-encoding"))) {
        // Workers would compress the body again unless told it already is (Deno ignores this).
        const init = { status: 200, encodeBody: "manual" } as ResponseInit;
        c.res = new Response(gzip, {
          ...init,
          headers: { ...headers, "content-encoding": "gzip" },
        });
        return c.res;
      }
      const plain = new Blob([gzip]).stream().pipeThrough(new DecompressionStream("gzip"));
      return c.body(plain, 200, headers);
    });
}
