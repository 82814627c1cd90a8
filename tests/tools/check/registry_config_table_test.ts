import assert from "node:assert/strict";
import { CheckReportSchema } from "../../../src/lib/check_report_schema.ts";
import {
  freshSecret,
  hardenedDeployment,
  significant,
  unsetInEnvFile,
} from "../../support/check_deployment.ts";
import { type Case, tableTest } from "../../support/check_table.ts";

const LONG_LOW_ENTROPY = "ab".repeat(24);
const LONG_PLACEHOLDER = "your-super-secret-jwt-key-for-production";

const CASES: Case[] = [
  // JWT secret
  {
    defect: "JWT_SECRET_KEY unset",
    expected: ["CIT-091 critical"],
    exitCode: 1,
    apply: (d) => unsetInEnvFile(d, "JWT_SECRET_KEY"),
  },
  {
    defect: "JWT_SECRET_KEY of 16 random bytes",
    expected: ["CIT-002 critical", "CIT-091 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = freshSecret(12)),
  },
  {
    defect: "JWT_SECRET_KEY with 2 distinct characters",
    expected: ["CIT-003 high"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = LONG_LOW_ENTROPY),
  },
  {
    defect: "JWT_SECRET_KEY counting up",
    expected: ["CIT-003 high"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"),
  },
  {
    defect: "JWT_SECRET_KEY a hand-written placeholder",
    expected: ["CIT-004 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = LONG_PLACEHOLDER),
  },
  {
    defect: "JWT_SECRET_KEY=CHANGE-ME",
    expected: ["CIT-002 critical", "CIT-004 critical", "CIT-091 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = "CHANGE-ME"),
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS equal to the key",
    expected: ["CIT-005 high"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY = d.env.JWT_SECRET_KEY_PREVIOUS = freshSecret()),
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS short",
    expected: ["CIT-006 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY_PREVIOUS = freshSecret(8)),
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS low entropy",
    expected: ["CIT-007 high"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY_PREVIOUS = LONG_LOW_ENTROPY),
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS a placeholder",
    expected: ["CIT-008 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_SECRET_KEY_PREVIOUS = "changeme-changeme-changeme-changeme"),
  },
  // HTTP
  {
    defect: "CORS_ORIGINS=*",
    expected: ["CIT-040 high", "CIT-091 high"],
    exitCode: 1,
    apply: (d) => void (d.env.CORS_ORIGINS = "*"),
  },
  {
    defect: "an http:// CORS origin",
    expected: ["CIT-041 medium"],
    exitCode: 0,
    apply: (d) => void (d.env.CORS_ORIGINS = "http://app.example.com"),
  },
  {
    defect: "ALLOWED_HOSTS empty, which serve refuses",
    expected: ["CIT-091 high"],
    exitCode: 1,
    apply: (d) => void delete d.env.ALLOWED_HOSTS,
  },
  {
    defect: "no TLS and no proxy",
    expected: ["CIT-043 high", "CIT-045 low", "CIT-091 high"],
    exitCode: 1,
    apply: (d) => void delete d.env.TRUSTED_PROXIES,
  },
  {
    defect: "no TLS and no proxy, allowed explicitly",
    expected: ["CIT-043 high", "CIT-044 medium", "CIT-045 low"],
    exitCode: 1,
    apply: (d) => void (delete d.env.TRUSTED_PROXIES, d.env.ALLOW_INSECURE_HTTP = "true"),
  },
  {
    defect: "ALLOW_INSECURE_HTTP=true behind a proxy",
    expected: ["CIT-044 medium"],
    exitCode: 0,
    apply: (d) => void (d.env.ALLOW_INSECURE_HTTP = "true"),
  },
  {
    defect: "RATE_LIMIT_ENABLED=false",
    expected: ["CIT-046 high"],
    exitCode: 1,
    apply: (d) => void (d.env.RATE_LIMIT_ENABLED = "false"),
  },
  {
    defect: "DEBUG=true",
    expected: ["CIT-047 high", "CIT-091 high"],
    exitCode: 1,
    apply: (d) => void (d.env.DEBUG = "true"),
  },
  {
    defect: "APP_ENV=development",
    expected: ["CIT-048 medium"],
    exitCode: 0,
    apply: (d) => void (d.env.APP_ENV = "development"),
  },
  // Files and process
  {
    defect: ".env mode 644",
    expected: ["CIT-060 high"],
    exitCode: 1,
    apply: (d) => Deno.chmod(`${d.dir}/.env`, 0o644),
  },
  {
    defect: "LOG_DIR mode 755",
    expected: ["CIT-061 medium"],
    exitCode: 0,
    apply: (d) => Deno.chmod(d.logDir, 0o755),
  },
  {
    defect: "a log file mode 644",
    expected: ["CIT-062 medium"],
    exitCode: 0,
    apply: (d) => Deno.chmod(`${d.logDir}/citadel.log`, 0o644),
  },
  {
    defect: "running as root",
    expected: ["CIT-063 high"],
    exitCode: 1,
    apply: (d) => void (d.uid = 0),
  },
  {
    defect: "an executable writable by its group",
    expected: ["CIT-064 high"],
    exitCode: 1,
    apply: (d) => Deno.chmod(d.executable, 0o775),
  },
  {
    defect: "a TLS key mode 644",
    expected: ["CIT-065 high"],
    exitCode: 1,
    async apply(d) {
      for (const name of ["cert.pem", "key.pem"]) {
        await Deno.writeTextFile(`${d.dir}/${name}`, "-----BEGIN-----\n");
      }
      await Deno.chmod(`${d.dir}/key.pem`, 0o644);
      Object.assign(d.env, {
        TLS_CERT_FILE: `${d.dir}/cert.pem`,
        TLS_KEY_FILE: `${d.dir}/key.pem`,
      });
    },
  },
  // Password hashing
  {
    defect: "ARGON2_MEMORY_KIB=4096",
    expected: ["CIT-070 high"],
    exitCode: 1,
    apply: (d) => void (d.env.ARGON2_MEMORY_KIB = "4096"),
  },
  // Configuration the server refuses for other reasons
  {
    defect: "PORT=eighty",
    expected: ["CIT-090 high"],
    exitCode: 1,
    apply: (d) => void (d.env.PORT = "eighty"),
  },
];

Deno.test("a hardened production deployment passes with no finding above info", async () => {
  await using d = await hardenedDeployment();
  const { report, exitCode } = await d.check();
  assert.deepEqual(significant(report.findings), []);
  assert.equal(exitCode, 0);
  assert.equal(report.passed, true);
  CheckReportSchema.parse(report);
});

tableTest(CASES);
