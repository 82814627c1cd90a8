import assert from "node:assert/strict";
import { isSensitivePath, normalizePath } from "../../src/lib/sensitive_paths.ts";

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
  "/api/v1/me/password",
  "/api/v1/me/sessions",
  "/api/v1/admin/audit",
  "/api/v1/admin/users/0b9e5a7c-1f0e-4a5b-9c1d-2f3e4a5b6c7d/revoke-sessions",
  "/api/v1/things:batchGet",
  "/api/v1/items;v=2",
  "/api/v1/login_history",
  "/api/v1/history",
  "/api/v1/backups",
  "/api/v1/archive",
  "/api/v1/docker",
  "/api/v1/jwt-secret",
  "/api/v1/v1.2",
  "/api/v1/catalog.json",
  "/~alice/profile",
];

/** Probes that reach the same file as a listed one, or a file a common server would serve. */
const EVASIONS: Array<[string, string]> = [
  ["`;` path parameter (Tomcat, Jetty, Spring)", "/.git;/config"],
  ["encoded `;` with a parameter value", "/.git%3bx/config"],
  ["encoded upper-case `;`", "/.git%3Bx/config"],
  ["`..;` dot segment", "/api/..;/.env"],
  ["NTFS default stream", "/.env::$DATA"],
  ["NTFS stream in upper case on a name", "/WEB.CONFIG::$DATA"],
  ["NTFS named stream", "/.htaccess:x:$DATA"],
  ["encoded NTFS stream", "/.git%3a%3a$data/config"],
  ["editor backup copy of a directory", "/.git~/config"],
  ["editor backup copy of a file", "/config.php~"],
  ["generated JWT secret", "/data/jwt_secret"],
  ["generated hash pepper", "/data/hash_pepper"],
  ["generated field-encryption key", "/data/encryption_key"],
  ["SQLite write-ahead log", "/data/citadel.db-wal"],
  ["SQLite shared memory", "/data/citadel.db-shm"],
  ["SQLite journal", "/citadel.sqlite-journal"],
  ["npm credentials", "/.npmrc"],
  ["kubeconfig", "/.kube/config"],
  ["docker credentials", "/.docker/config.json"],
  ["shell history", "/.bash_history"],
  ["another user's shell history", "/home/u/.zsh_history"],
  ["netrc", "/.netrc"],
  ["tarball of the site", "/www.tar.gz"],
  ["zip of the site", "/example.com.zip"],
  ["compressed database dump", "/citadel.sql.gz"],
  ["tgz backup", "/backup.tgz"],
  ["7z backup", "/db.7z"],
  ["log file", "/logs/citadel.log"],
  ["rotated log file", "/citadel.log.1"],
  ["numbered dump", "/dump.sql.2"],
];

Deno.test("isSensitivePath() matches sensitive paths however they are encoded", () => {
  for (const path of SENSITIVE) assert.equal(isSensitivePath(path), true, path);
});

for (const [name, path] of EVASIONS) {
  Deno.test(`isSensitivePath() flags ${name}: ${path}`, () => {
    assert.equal(isSensitivePath(path), true);
  });
}

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
    ["/a;b=1/..;/c", "/c"],
    ["/.git%3bx/config", "/.git/config"],
    ["/.env::$DATA", "/.env"],
    ["/%" + "25".repeat(12) + "2e", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizePath(input), expected, input);
  assert.equal(isSensitivePath("/%" + "25".repeat(12) + "2e"), true);
});
