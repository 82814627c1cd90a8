/**
 * The `citadel check --url` findings about a running deployment, from what the live probe
 * fetched (CIT-080 to CIT-089).
 */
import { HOSTILE_ORIGIN } from "./live_probe.ts";
import { type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const HSTS_FIX = "Serve the API over HTTPS (TLS_CERT_FILE/TLS_KEY_FILE, or a proxy in " +
  "TRUSTED_PROXIES that sets X-Forwarded-Proto: https); citadel then sends " +
  "Strict-Transport-Security: max-age=63072000; includeSubDomains";

/** Checks of a running deployment, from what `--url` fetched. */
export const LIVE_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-080",
    severity: "info",
    group: "live",
    title: "HTTP Observatory score",
    fix: "Nothing to do; see CIT-081 for what lowers the score",
    run(context) {
      const live = context.live;
      if (!live) return [];
      const { score, grade } = live.observatory;
      return [{
        found: `${live.response.url} scores ${score} (${grade}) on the HTTP Observatory rules`,
      }];
    },
  }),
  defineCheck({
    id: "CIT-081",
    severity: "medium",
    group: "live",
    title: "HTTP Observatory grade below A+",
    fix: "Serve through citadel's own headers (no proxy overriding them) over HTTPS",
    run(context) {
      const live = context.live;
      if (!live || live.observatory.score >= 100) return [];
      const failing = live.observatory.tests.filter((t) => !t.pass)
        .map((t) => `${t.result} (${t.modifier})`);
      return [{
        found: `score ${live.observatory.score} (${live.observatory.grade}); failing: ${
          failing.join(", ")
        }`,
      }];
    },
  }),
  defineCheck({
    id: "CIT-082",
    severity: "high",
    group: "live",
    title: "No valid HSTS header",
    fix: HSTS_FIX,
    run(context) {
      const test = context.live?.observatory.tests.find((t) =>
        t.name === "strict-transport-security"
      );
      return test && !test.pass ? [{ found: `Observatory result ${test.result}` }] : [];
    },
  }),
  defineCheck({
    id: "CIT-083",
    severity: "critical",
    group: "live",
    title: "CORS reflects a hostile origin with credentials",
    fix: "List exact origins in CORS_ORIGINS; never echo the request's Origin back",
    run(context): Detail[] {
      return (context.live?.cors ?? []).filter((c) =>
        c.allowOrigin === HOSTILE_ORIGIN && c.allowCredentials
      )
        .map((c) => ({
          found: `${c.request} with Origin ${HOSTILE_ORIGIN} got it back in ` +
            "Access-Control-Allow-Origin with Access-Control-Allow-Credentials: true",
        }));
    },
  }),
  defineCheck({
    id: "CIT-084",
    severity: "medium",
    group: "live",
    title: "CORS allows any origin",
    fix: "List exact origins in CORS_ORIGINS",
    run(context): Detail[] {
      return (context.live?.cors ?? [])
        .filter((c) =>
          c.allowOrigin === "*" || (c.allowOrigin === HOSTILE_ORIGIN && !c.allowCredentials)
        )
        .map((c) => ({
          found:
            `${c.request} with a foreign Origin got Access-Control-Allow-Origin: ${c.allowOrigin}`,
        }));
    },
  }),
  defineCheck({
    id: "CIT-085",
    severity: "critical",
    group: "live",
    title: "/.env is served",
    fix:
      "Move .env out of the web root and deny dot-files in the proxy (nginx: location ~ /\\. { deny all; })",
    run(context) {
      const hit = context.live?.exposed.find((e) => e.path === "/.env" && e.servesFile);
      return hit ? [{ found: `GET /.env answered ${hit.status} with environment variables` }] : [];
    },
  }),
  defineCheck({
    id: "CIT-086",
    severity: "critical",
    group: "live",
    title: "/.git/config is served",
    fix: "Deploy without the .git directory and deny dot-files in the proxy",
    run(context) {
      const hit = context.live?.exposed.find((e) => e.path === "/.git/config" && e.servesFile);
      return hit ? [{ found: `GET /.git/config answered ${hit.status} with a git config` }] : [];
    },
  }),
  defineCheck({
    id: "CIT-087",
    severity: "high",
    group: "live",
    title: "Malformed JSON leaks internals",
    fix: "Answer malformed bodies with a 400 problem+json and log the details server-side only",
    run(context): Detail[] {
      return (context.live?.malformedJson ?? []).filter((m) => m.leaks.length > 0).map((m) => ({
        found: `POST ${m.path} with a truncated JSON body answered ${m.status} showing ${
          m.leaks.join(", ")
        }`,
      }));
    },
  }),
  defineCheck({
    id: "CIT-088",
    severity: "low",
    group: "live",
    title: "Server banner discloses software",
    fix: "Hide the version in the proxy (nginx: server_tokens off;) and drop X-Powered-By",
    run(context): Detail[] {
      const banner = context.live?.banner;
      if (!banner) return [];
      const details: Detail[] = [];
      if (banner.server && /\d/.test(banner.server)) {
        details.push({ found: `Server: ${banner.server}` });
      }
      if (banner.poweredBy) details.push({ found: `X-Powered-By: ${banner.poweredBy}` });
      return details;
    },
  }),
  defineCheck({
    id: "CIT-089",
    severity: "high",
    group: "live",
    title: "Plain HTTP does not redirect to HTTPS",
    fix: "Set HTTP_REDIRECT_PORT=80 (citadel redirects), or redirect in the proxy " +
      "(nginx: return 301 https://$host$request_uri;)",
    run(context) {
      const live = context.live;
      const test = live?.observatory.tests.find((t) => t.name === "redirection");
      if (!live || !test) return [];
      const fails = test.result === "redirection-missing" ||
        test.result === "redirection-not-to-https";
      return fails
        ? [{
          found: `${live.plainHttp?.[0] ?? live.url} ${
            test.result === "redirection-missing"
              ? "answers without redirecting"
              : "never reaches https://"
          }`,
        }]
        : [];
    },
  }),
];
