/**
 * The `citadel check` findings about file permissions and the process user (CIT-060 to
 * CIT-065).
 */
import { modeText, tooOpen, writableByOthers } from "./file_modes.ts";
import { type CheckDefinition, defineCheck } from "./types.ts";

/** Permissions of secrets and logs, and who the process runs as. */
export const FILE_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-060",
    severity: "high",
    group: "files",
    title: ".env readable or writable by others",
    fix: "chmod 600 .env",
    run: (context) => tooOpen(context.files.envFile, 0o600),
  }),
  defineCheck({
    id: "CIT-061",
    severity: "medium",
    group: "files",
    title: "LOG_DIR open to others",
    fix: "chmod 700 the LOG_DIR directory",
    run: (context) => tooOpen(context.files.logDir, 0o700),
  }),
  defineCheck({
    id: "CIT-062",
    severity: "medium",
    group: "files",
    title: "Log files readable by others",
    fix: "chmod 600 the files in LOG_DIR",
    run: (context) => context.files.logFiles.flatMap((f) => tooOpen(f, 0o600)),
  }),
  defineCheck({
    id: "CIT-063",
    severity: "high",
    group: "files",
    title: "Running as root",
    fix: "Run citadel as an unprivileged user (e.g. `useradd --system citadel`, and User=citadel " +
      "in the systemd unit); bind port 443 through a proxy or CAP_NET_BIND_SERVICE",
    run: (context) =>
      context.process.uid === 0 ? [{ found: "the process runs with user id 0 (root)" }] : [],
  }),
  defineCheck({
    id: "CIT-064",
    severity: "high",
    group: "files",
    title: "Executable writable by others",
    fix: "chmod go-w the executable (and make root or a deploy user its owner)",
    run(context) {
      const exe = context.process.executable;
      return exe && writableByOthers(exe)
        ? [{ found: `${exe.path} has mode ${modeText(exe)}`, fix: `chmod go-w ${exe.path}` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-065",
    severity: "high",
    group: "files",
    title: "TLS private key readable by others",
    fix: "chmod 600 the file named by TLS_KEY_FILE",
    run: (context) => tooOpen(context.files.tlsKey, 0o600, "TLS_KEY_FILE"),
  }),
];
