/**
 * `/admin/audit` and its export: the API's filters (action, actor, outcome, time range), its
 * cursor paging with the filters kept, a refused filter next to its field, and the download
 * (JSON Lines and CSV) that holds every page of the API's answer.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { recordAudit } from "../../src/services/audit.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { consoleAdmin, getPage } from "../support/console_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";

/** `count` events of `actor` (a label) at the clock's time. */
async function seed(t: TestApp, actor: string, count: number) {
  for (let i = 0; i < count; i++) {
    await recordAudit(t.deps.db, {
      actorType: "system",
      actorId: actor,
      action: "migration.applied",
      outcome: "success",
      details: { migration: `${actor}-${i}` },
    }, { clock: t.clock });
  }
}

/** The `#` (seq) cells of the page's event table. */
function seqs(html: string): number[] {
  return [...html.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]));
}

/** Every event the API lists for a query, all pages. */
async function apiEvents(t: TestApp, token: string, query: string) {
  const items: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  do {
    const path: string = `/api/v1/admin/audit?${query}&limit=100${
      cursor ? `&cursor=${cursor}` : ""
    }`;
    const res = await authed(t, "GET", path, token);
    assert.equal(res.status, 200);
    const body = await res.json();
    items.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor);
  return items;
}

Deno.test("/admin/audit filters by action, actor, outcome and time, as the API does", async () => {
  const clock = new ManualClock(Date.parse("2026-03-01T09:00:00Z"));
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: user.email, password: "wrong-password-123" },
    });
    await seed(t, "early", 1);
    clock.advance(3_600_000);
    await seed(t, "late", 2);
    const admin = await consoleAdmin(t, "admin");

    const cases: Array<[string, (row: Record<string, unknown>) => boolean]> = [
      ["action=auth.login.failed", (e) => e.action === "auth.login.failed"],
      ["outcome=failure", (e) => e.outcome === "failure"],
      [`actor=${admin.id}`, (e) => e.actor_id === admin.id],
      ["actor=late", (e) => e.actor_id === "late"],
      ["since=2026-03-01T09:30", (e) => String(e.occurred_at) >= "2026-03-01T09:30"],
      ["until=2026-03-01T09:30&action=migration.applied", (e) => e.actor_id === "early"],
    ];
    const token = (await login(t, admin.email)).access_token;
    const all = await apiEvents(t, token, "");
    for (const [query, keep] of cases) {
      const res = await getPage(t, `/admin/audit?${query}`, admin.cookie);
      const html = await res.text();
      assert.equal(res.status, 200, query);
      const expected = all.filter(keep).map((e) => e.seq as number);
      assert.ok(expected.length > 0, `${query} matches something`);
      assert.deepEqual(seqs(html), expected, query);
    }
    const failed = await (await getPage(t, "/admin/audit?outcome=failure", admin.cookie)).text();
    assert.match(failed, /<option value="failure" selected>/, "the form keeps the filter");
    const intact = await (await getPage(t, "/admin/audit", admin.cookie)).text();
    assert.match(intact, /<span class="badge">intact<\/span> \d+ events verified\./);
  } finally {
    await t.close();
  }
});

Deno.test("/admin/audit pages with the API's cursor, keeping the filters, and shows a refused filter next to its field", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    await seed(t, "pager", 5);
    const seen: number[] = [];
    let path: string | undefined = "/admin/audit?actor=pager&limit=2";
    while (path) {
      const html = await (await getPage(t, path, admin.cookie)).text();
      const page = seqs(html);
      assert.ok(page.length <= 2);
      seen.push(...page);
      path = /<a href="([^"]+)" rel="next">/.exec(html)?.[1].replaceAll("&amp;", "&");
      if (path) assert.match(path, /actor=pager&.*limit=2/, "the next link keeps the filters");
    }
    assert.equal(seen.length, 5);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), "newest first, each once");

    const res = await getPage(t, "/admin/audit?since=yesterday", admin.cookie);
    const html = await res.text();
    assert.equal(res.status, 422);
    assert.match(html, /id="f-since-error" role="alert">must be an ISO-8601 date-time</);
  } finally {
    await t.close();
  }
});

Deno.test("the audit export downloads every page of the API's answer for the filters, as JSON Lines or CSV", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    await seed(t, '=HYPERLINK("http://x")', 130);
    await seed(t, "other", 3);
    const filter = `actor=${encodeURIComponent('=HYPERLINK("http://x")')}`;
    const token = (await login(t, admin.email)).access_token;
    const expected = await apiEvents(t, token, filter);
    assert.equal(expected.length, 130);

    const page = await (await getPage(t, `/admin/audit?${filter}`, admin.cookie)).text();
    const link = /href="(\/admin\/audit\/export[^"]*format=jsonl)"/.exec(page)?.[1];
    assert.ok(link, "the page links the export with its filters");
    const jsonl = await getPage(t, link.replaceAll("&amp;", "&"), admin.cookie);
    assert.equal(jsonl.status, 200);
    assert.match(jsonl.headers.get("content-type") ?? "", /^application\/x-ndjson/);
    assert.equal(
      jsonl.headers.get("content-disposition"),
      'attachment; filename="citadel-audit.jsonl"',
    );
    assert.equal(jsonl.headers.get("cache-control"), "no-store");
    const lines = (await jsonl.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, expected, "exactly the API's events, across its pages");

    const csv = await getPage(t, `/admin/audit/export?${filter}&format=csv`, admin.cookie);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const rows = (await csv.text()).split("\r\n").filter(Boolean);
    assert.equal(
      rows[0],
      "seq,id,occurred_at,actor_type,actor_id,action,target_type,target_id," +
        "outcome,ip,user_agent,request_id,details,prev_hash,hash",
    );
    assert.equal(rows.length, 131);
    assert.ok(rows[1].startsWith(`${expected[0].seq},${expected[0].id},`));
    assert.ok(rows[1].includes(`,"'=HYPERLINK(""http://x"")",`), "no formula reaches a sheet");

    const refused = await getPage(t, "/admin/audit/export?outcome=maybe", admin.cookie);
    assert.equal(refused.status, 422, "a refused filter is a page, not a download");
    assert.equal(refused.headers.get("content-disposition"), null);
    assert.match(refused.headers.get("content-type") ?? "", /^text\/html/);
    await refused.body?.cancel();
  } finally {
    await t.close();
  }
});
