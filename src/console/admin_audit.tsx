/**
 * `/admin/audit`: the audit log as `GET /api/v1/admin/audit` lists it (newest first, by
 * action, actor, outcome and time range, a page at a time), and `/admin/audit/export`, the
 * same listing as a download (JSON Lines or CSV) that reads the API's pages one after another
 * while it streams. The page also shows the chain verification (`/api/v1/admin/audit/verify`).
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { csvRow } from "../lib/csv.ts";
import { AUDIT_ACTION_NAMES } from "../services/audit_events.ts";
import { AUDIT_CSV_COLUMNS } from "../services/audit_query.ts";
import {
  failurePage,
  Pager,
  ProblemNotice,
  problemOf,
  queryOf,
  queryValues,
  Select,
  statusOf,
  When,
} from "./admin_parts.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Field, Page } from "./layout.tsx";
import { api, fieldErrors, sessionOr } from "./pages.ts";

/** An audit event as the API shows one. */
interface AuditItem {
  seq: number;
  id: string;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: unknown;
  prev_hash: string;
  hash: string;
}

type AuditPage = { items: AuditItem[]; next_cursor: string | null };

const FILTERS = ["action", "actor", "outcome", "since", "until", "cursor", "limit"] as const;
type Filters = Partial<Record<typeof FILTERS[number], string>>;

/** What a datetime-local input sends (no zone) is read as UTC; anything else goes as typed. */
function apiTime(value: string | undefined): string | undefined {
  if (!value || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?$/.test(value)) return value;
  return `${value}${value.length === 16 ? ":00" : ""}Z`;
}

/** The API's query for the page's filters. */
function apiQuery(filters: Filters, limit: string) {
  return queryOf({
    limit,
    ...filters,
    since: apiTime(filters.since),
    until: apiTime(filters.until),
  });
}

/** What `GET /api/v1/admin/audit/verify` answers. */
interface Verification {
  ok: boolean;
  checked: number;
  first_broken: { seq: number; id: string; reason: string } | null;
}

/** `GET /admin/audit`. */
export function auditPage(kit: ConsoleKit) {
  return async function auditPageHandler(c: Context<AppEnv>) {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const filters = queryValues(c, FILTERS);
    const answer = await api<AuditPage>(
      kit,
      c,
      "GET",
      `/api/v1/admin/audit${apiQuery(filters, "50")}`,
    );
    if (!answer.ok && answer.status !== 422) {
      return await failurePage(kit, c, answer, "/admin/audit");
    }
    const chain = await api<Verification>(kit, c, "GET", "/api/v1/admin/audit/verify");
    const errors = answer.ok ? {} : fieldErrors(answer);
    const exportQuery = { ...filters, cursor: undefined, limit: undefined };
    return c.html(
      <Page title="Audit log" ctx={await kit.pageContext(c)}>
        <form method="get" action="/admin/audit" aria-label="Filter the audit log">
          <Select
            name="action"
            label="Action"
            value={filters.action}
            error={errors.action}
            options={[["", "Any action"], ...AUDIT_ACTION_NAMES.map((a) => [a, a] as const)]}
          />
          <Field
            name="actor"
            label="Actor id (user or API key)"
            value={filters.actor}
            error={errors.actor}
            autocomplete="off"
          />
          <Select
            name="outcome"
            label="Outcome"
            value={filters.outcome}
            error={errors.outcome}
            options={[
              ["", "Any outcome"],
              ["success", "success"],
              ["failure", "failure"],
              ["denied", "denied"],
            ]}
          />
          <Field
            name="since"
            label="From (UTC, inclusive)"
            type="datetime-local"
            value={filters.since}
            error={errors.since}
          />
          <Field
            name="until"
            label="Until (UTC, exclusive)"
            type="datetime-local"
            value={filters.until}
            error={errors.until}
          />
          {filters.limit && <input type="hidden" name="limit" value={filters.limit} />}
          <div class="actions">
            <button type="submit">Filter</button>
            <a href="/admin/audit">Clear</a>
          </div>
        </form>
        <p class="actions">
          <span>Export these events:</span>
          <a href={`/admin/audit/export${queryOf({ ...exportQuery, format: "jsonl" })}`} download>
            JSON Lines
          </a>
          <a href={`/admin/audit/export${queryOf({ ...exportQuery, format: "csv" })}`} download>
            CSV
          </a>
        </p>
        {!answer.ok && <ProblemNotice problem={problemOf(answer)} back="/admin/audit" />}
        {answer.ok && <EventTable items={answer.body.items} />}
        {answer.ok && (
          <Pager
            path="/admin/audit"
            filters={filters}
            next={answer.body.next_cursor}
          />
        )}
        <section aria-labelledby="chain">
          <h2 id="chain">Chain verification</h2>
          <p>Every event holds the hash of the one before it; the whole chain was just walked.</p>
          {!chain.ok && <p role="alert" class="error">The verification could not run.</p>}
          {chain.ok && chain.body.ok && (
            <p role="status">
              <span class="badge">intact</span>
              {` ${chain.body.checked} events verified.`}
            </p>
          )}
          {chain.ok && !chain.body.ok && (
            <p role="alert" class="error">
              {`Broken at event #${chain.body.first_broken?.seq} (${chain.body.first_broken?.id}): ${chain.body.first_broken?.reason}.`}
            </p>
          )}
        </section>
      </Page>,
      answer.ok ? 200 : statusOf(answer),
    );
  };
}

function Party(props: { type: string | null; id: string | null; filter?: boolean }) {
  const { type, id } = props;
  if (!type) return <>—</>;
  if (!id) return <>{type}</>;
  const href = props.filter
    ? `/admin/audit${queryOf({ actor: id })}`
    : type === "user"
    ? `/admin/users/${encodeURIComponent(id)}`
    : undefined;
  return (
    <>
      {type} {href ? <a href={href}>{id}</a> : <code>{id}</code>}
    </>
  );
}

function EventTable(props: { items: AuditItem[] }) {
  if (props.items.length === 0) return <p>No event matches.</p>;
  return (
    <div class="table">
      <table>
        <caption class="visually-hidden">Audit events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">Address</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((event) => (
            <tr>
              <td>{String(event.seq)}</td>
              <td>
                <When iso={event.occurred_at} />
              </td>
              <td>{event.action}</td>
              <td>{event.outcome}</td>
              <td>
                <Party type={event.actor_type} id={event.actor_id} filter />
              </td>
              <td>
                <Party type={event.target_type} id={event.target_id} />
              </td>
              <td>{event.ip ?? ""}</td>
              <td>
                <code>{JSON.stringify(event.details ?? {})}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** `GET /admin/audit/export?format=jsonl|csv` with the page's filters. */
export function auditExport(kit: ConsoleKit) {
  return async function auditExportHandler(c: Context<AppEnv>) {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const filters = { ...queryValues(c, FILTERS), cursor: undefined, limit: undefined };
    const csv = c.req.query("format") === "csv";
    const read = (cursor?: string) =>
      api<AuditPage>(
        kit,
        c,
        "GET",
        `/api/v1/admin/audit${apiQuery({ ...filters, cursor }, "100")}`,
      );
    // The first page decides the status: a refusal is a page, not a broken download.
    const first = await read();
    if (!first.ok) return await failurePage(kit, c, first, "/admin/audit");
    const encoder = new TextEncoder();
    const line = (item: AuditItem) =>
      csv ? csvRow(AUDIT_CSV_COLUMNS.map((name) => item[name])) : `${JSON.stringify(item)}\n`;
    let page: AuditPage | undefined = first.body;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (csv) controller.enqueue(encoder.encode(csvRow(AUDIT_CSV_COLUMNS)));
      },
      async pull(controller) {
        if (!page) return controller.close();
        controller.enqueue(encoder.encode(page.items.map(line).join("")));
        if (page.next_cursor === null) {
          page = undefined;
          return;
        }
        const next = await read(page.next_cursor);
        // A page refused half-way (a rate limit, a revoked session) ends the download as a
        // failure, so a partial export never looks complete.
        if (!next.ok) return controller.error(new Error(`audit export stopped: ${next.status}`));
        page = next.body;
      },
    });
    const name = csv ? "citadel-audit.csv" : "citadel-audit.jsonl";
    return c.body(body, 200, {
      "content-type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
    });
  };
}
