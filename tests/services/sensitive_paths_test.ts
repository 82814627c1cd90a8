import assert from "node:assert/strict";
import { isSensitivePath, normalizePath } from "../../src/services/sensitive_paths.ts";

const SENSITIVE = [
  "/.env",
  "/%2e%65nv",
  "/.ENV",
  "/static/..%2f.env",
  "/static/..%5c.env",
  "/a/.git/config",
  "/%252e%2565nv",
  "/%25252e%252565nv",
  "/.env.local",
  "/.env.bak",
  "/app/.env.production",
  "/.e%00nv",
  "/%EF%BC%8E%EF%BD%85%EF%BD%8E%EF%BD%96", // fullwidth ．ｅｎｖ, folded by NFKC
  "/.git",
  "/.git/HEAD",
  "//.git//config",
  "/x/./y/../../.svn/entries",
  "/.hg/store",
  "/.aws/credentials",
  "/home/u/.ssh/id_rsa",
  "/id_dsa",
  "/id_ed25519",
  "/id_rsa.pub",
  "/server.pem",
  "/tls/private.key",
  "/cert.P12",
  "/cert.pfx",
  "/index.php.bak",
  "/config.old",
  "/.index.html.swp",
  "/dump.sql",
  "/backup/db.sqlite",
  "/data.db",
  "/.DS_Store",
  "/wp-admin",
  "/wp-admin/install.php",
  "/blog/wp-login.php",
  "/phpmyadmin",
  "/phpMyAdmin/index.php",
  "/server-status",
  "/web.config",
  "/config.php",
  "/.git.",
  "/a\\..\\.env",
];

const ORDINARY = [
  "/",
  "/health",
  "/api/v1/me",
  "/api/v1/keys",
  "/api/v1/api-keys",
  "/api/v1/api-keys/0b9e5a7c-1f0e-4a5b-9c1d-2f3e4a5b6c7d",
  "/api/v1/keys/rotate",
  "/api/v1/auth/login",
  "/api/v1/users/Alice",
  "/api/v1/db-status",
  "/api/v1/environment",
  "/api/v1/sql-help",
  "/favicon.ico",
  "/docs/openapi.json",
  "/api/v1/search/100%25",
  "/monkey",
  "/keys.json",
  "/old/items",
  "/api/v1/users/me/.well-known",
];

Deno.test("isSensitivePath() matches sensitive paths however they are encoded", () => {
  for (const path of SENSITIVE) assert.equal(isSensitivePath(path), true, path);
});

Deno.test("isSensitivePath() does not flag ordinary API paths", () => {
  for (const path of ORDINARY) assert.equal(isSensitivePath(path), false, path);
});

Deno.test("isSensitivePath() gives the same answer on the fast path and after normalising", () => {
  // Upper case forces full normalisation; lower-case simple paths take the regex.
  const simple = [
    "/wp-admin",
    "/x/wp-content/y",
    "/wp-includes",
    "/server-status/",
    "/server-info",
    "/phpmyadmin2",
    "/id_rsa",
    "/id_ecdsa_sk",
    "/wp-adminx",
    "/my-wp-admin",
    "/api/v1/server-statuses",
    "/ids_rsa",
  ];
  for (const path of simple) {
    assert.equal(isSensitivePath(path), isSensitivePath(path.toUpperCase()), path);
  }
  assert.equal(isSensitivePath("/wp-adminx"), false);
  assert.equal(isSensitivePath("/phpmyadmin2"), true);
});

Deno.test("normalizePath() resolves encodings, dot segments and duplicate slashes", () => {
  const cases: Array<[string, string | undefined]> = [
    ["/static/..%2f.env", "/.env"],
    ["/%252e%2565nv", "/.env"],
    ["//a///b/", "/a/b"],
    ["/a/./b/../c", "/a/c"],
    ["/../../etc/passwd", "/etc/passwd"],
    ["/A\\B", "/a/b"],
    ["/%E2%84%AA", "/k"], // KELVIN SIGN folds to k
    ["/%ZZ%2", "/%zz%2"],
    ["/%c0%ae", "/\ufffd\ufffd"],
    ["/%" + "25".repeat(12) + "2e", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizePath(input), expected, input);
  assert.equal(isSensitivePath("/%" + "25".repeat(12) + "2e"), true);
});
