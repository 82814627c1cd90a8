/**
 * Paths that only scanners ask for: secrets, VCS metadata, backups, database files and
 * other products' admin pages. Matched per path segment after normalisation, so an API
 * path like `/api/v1/keys` never matches `*.key`.
 * @module
 */

const NAMES = new Set([
  ".git",
  ".svn",
  ".hg",
  ".bzr",
  ".aws",
  ".ssh",
  ".kube",
  ".docker",
  ".gnupg",
  ".npmrc",
  ".yarnrc",
  ".pypirc",
  ".netrc",
  ".pgpass",
  ".bash_history",
  ".zsh_history",
  ".sh_history",
  ".history",
  ".mysql_history",
  ".psql_history",
  ".python_history",
  ".node_repl_history",
  ".sqlite_history",
  ".rediscli_history",
  ".ds_store",
  ".htaccess",
  ".htpasswd",
  ".git-credentials",
  // citadel's own data directory: the generated secrets.
  "jwt_secret",
  "hash_pepper",
  "encryption_key",
  "wp-admin",
  "wp-content",
  "wp-includes",
  "wp-login.php",
  "xmlrpc.php",
  "server-status",
  "server-info",
  "web.config",
  "config.php",
]);
/** `.env` covers `.env.local`, `.env.bak`, `.envrc`; `id_rsa` covers `id_rsa.pub`. */
const PREFIXES = [".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "phpmyadmin"];
const SUFFIXES = [
  ".pem",
  ".key",
  ".p12",
  ".pfx",
  ".bak",
  ".old",
  ".swp",
  ".swo",
  ".log",
  ".sql",
  ".sqlite",
  ".sqlite3",
  ".db",
  // SQLite's write-ahead log, shared memory and rollback journal beside a database file.
  ...[".db", ".sqlite", ".sqlite3"].flatMap((db) => [`${db}-wal`, `${db}-shm`, `${db}-journal`]),
  // Backup archives: citadel serves no files, so any archive name is a probe.
  ".zip",
  ".tar",
  ".tgz",
  ".gz",
  ".bz2",
  ".xz",
  ".zst",
  ".7z",
  ".rar",
];

/** Paths made only of these characters need no normalisation. */
const SIMPLE = /^[a-z0-9/_-]*$/;
/** Nor decoding or case folding: only dot segments and duplicate slashes. */
const PLAIN = /^[a-z0-9/_.~-]*$/;
const SIMPLE_ENTRY = /^[a-z0-9_-]+$/;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
/**
 * The rules a simple path can possibly hit (entries without dots, upper case or other
 * punctuation), as one regular expression: ordinary API paths cost one regex test.
 */
const SIMPLE_RULES = new RegExp(
  "(?:^|/)(?:" + [
    ...[...NAMES].filter((n) => SIMPLE_ENTRY.test(n)).map(escape),
    ...PREFIXES.filter((p) => SIMPLE_ENTRY.test(p)).map((p) => `${escape(p)}[^/]*`),
  ].join("|") + ")(?:/|$)",
);

/**
 * One test per segment. The file a segment opens ends before a trailing run of dots,
 * spaces (Windows drops them: `.git.` opens `.git`) and `~` (an editor's backup copy,
 * served as is); `.1`, `.2` after a suffix are rotated logs and numbered backups.
 */
const SEGMENT_RULES = new RegExp(
  "^(?:" + [...NAMES].map(escape).join("|") + ")[. ~]*$" +
    "|^(?:" + PREFIXES.map(escape).join("|") + ")" +
    "|(?:" + SUFFIXES.map(escape).join("|") + ")(?:\\.\\d+)?[. ~]*$",
);
/**
 * Where the name a server opens ends inside a segment: `;` starts path parameters
 * (Tomcat, Jetty and Spring drop them, so `/..;/` is `..` and `.git;x` is `.git`), `:`
 * an NTFS stream (`.env::$DATA` and `.env:x` open `.env`).
 */
const NAME_END = /[;:]/;

/** Decoding more often than this means the path is built to evade filters. */
const MAX_DECODE_ROUNDS = 8;
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const utf8 = new TextDecoder();

function decodePercent(path: string): string {
  if (path.indexOf("%") < 0) return path;
  return path.replace(PERCENT_RUN, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    }
    return utf8.decode(bytes);
  });
}

const NON_ASCII = /[^\u0020-\u007e]/;

/** Unicode NFKC, skipped for ASCII, which it leaves unchanged. */
function fold(text: string): string {
  return NON_ASCII.test(text) ? text.normalize("NFKC") : text;
}

/**
 * Normalises a request path the way a lenient server or file system would read it:
 * percent-decoding and Unicode NFKC until stable, backslashes as slashes, NUL removed,
 * lower case, `;` path parameters and `:` stream suffixes cut off each segment, dot
 * segments resolved and duplicate slashes collapsed. Returns undefined when decoding
 * does not settle.
 */
export function normalizePath(raw: string): string | undefined {
  let path = raw;
  // Plain ASCII without escapes is its own decoding; only dot segments remain to resolve.
  for (let round = 0; !PLAIN.test(path); round++) {
    const next = fold(decodePercent(path)).replaceAll("\\", "/").replaceAll("\0", "");
    if (next === path) break;
    if (round === MAX_DECODE_ROUNDS) return undefined;
    path = next;
  }
  if (!PLAIN.test(path)) path = fold(path.toLowerCase());
  const segments: string[] = [];
  for (let segment of path.split("/")) {
    const end = segment.search(NAME_END);
    if (end >= 0) segment = segment.slice(0, end);
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return "/" + segments.join("/");
}

/**
 * Whether a request path asks for something only a scanner wants (see the lists above),
 * however it is encoded. Ordinary lower-case API paths take a single regex test.
 */
export function isSensitivePath(path: string): boolean {
  if (SIMPLE.test(path)) return SIMPLE_RULES.test(path);
  const normalized = normalizePath(path);
  if (normalized === undefined) return true;
  return normalized.split("/").some((segment) => SEGMENT_RULES.test(segment));
}
