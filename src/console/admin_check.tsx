/**
 * `/admin/check`: `citadel check`'s report of the running deployment, as
 * `GET /api/v1/admin/check` answers it (findings worst first, their fixes, the counts, the live
 * Observatory grade when the check had one). Where the deployment cannot run the audit itself
 * the API says so (503 `check_unavailable`), and so does the page.
 * @module
 */
import { SEVERITIES } from "../lib/check_report_schema.ts";
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { failurePage, ProblemNotice, problemOf, statusOf, When } from "./admin_parts.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Page } from "./layout.tsx";
import { api, sessionOr } from "./pages.ts";

/** One finding of the report (`citadel check --json`, schema `citadel-check/1`). */
interface Finding {
  id: string;
  severity: string;
  title: string;
  found: string;
  fix: string;
  setting?: string;
}

/** The report as the API answers it. */
interface CheckReport {
  citadel_version: string;
  checked_at: string;
  app_env: string;
  fail_level: string;
  passed: boolean;
  counts: Record<string, number>;
  findings: Finding[];
  observatory: {
    url: string;
    score: number;
    grade: string;
    tests: Array<{ name: string; result: string; modifier: number; pass: boolean }>;
  } | null;
}

function Findings(props: { findings: Finding[] }) {
  if (props.findings.length === 0) return <p>No findings.</p>;
  return (
    <div class="table">
      <table>
        <caption class="visually-hidden">Findings, worst first</caption>
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Finding</th>
            <th scope="col">Fix</th>
          </tr>
        </thead>
        <tbody>
          {props.findings.map((f) => (
            <tr>
              <td>
                <span class="badge">{f.severity}</span>
              </td>
              <td>
                <strong>{f.id}</strong> {f.title}
                <p class="hint">{f.found}</p>
              </td>
              <td>
                {f.fix}
                {f.setting && (
                  <p class="hint">
                    Setting: <code>{f.setting}</code>
                  </p>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Observatory(props: { observatory: NonNullable<CheckReport["observatory"]> }) {
  const { observatory } = props;
  return (
    <section aria-labelledby="observatory">
      <h2 id="observatory">HTTP Observatory</h2>
      <p>
        <code>{observatory.url}</code> scores {String(observatory.score)} ({observatory.grade}).
      </p>
      <ul>
        {observatory.tests.map((test) => (
          <li>
            {`${test.pass ? "pass" : "fail"}: ${test.name} (${test.result}, ${test.modifier})`}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** `GET /admin/check`. */
export function checkPage(kit: ConsoleKit) {
  return async function checkPageHandler(c: Context<AppEnv>) {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const answer = await api<CheckReport>(kit, c, "GET", "/api/v1/admin/check");
    const problem = problemOf(answer);
    if (!answer.ok && problem?.code !== "check_unavailable") {
      return await failurePage(kit, c, answer, "/admin/check");
    }
    const report = answer.ok ? answer.body : undefined;
    return c.html(
      <Page title="Deployment check" ctx={await kit.pageContext(c)}>
        {!report && <ProblemNotice problem={problem} back="/admin/check" />}
        {report && (
          <>
            <p class={`flash ${report.passed ? "ok" : "error"}`} role="status">
              {report.passed
                ? `Passed: nothing at or above ${report.fail_level}.`
                : `Failed: findings at or above ${report.fail_level}.`}
            </p>
            <dl>
              <dt>Checked</dt>
              <dd>
                <When iso={report.checked_at} />
              </dd>
              <dt>Version</dt>
              <dd>{report.citadel_version}</dd>
              <dt>APP_ENV</dt>
              <dd>{report.app_env}</dd>
              <dt>Findings</dt>
              <dd>
                {SEVERITIES.map((s) => `${report.counts[s] ?? 0} ${s}`).join(", ")}
              </dd>
            </dl>
            <section aria-labelledby="findings">
              <h2 id="findings">Findings</h2>
              <Findings findings={report.findings} />
            </section>
            {report.observatory && <Observatory observatory={report.observatory} />}
          </>
        )}
      </Page>,
      report ? 200 : statusOf(answer),
    );
  };
}
