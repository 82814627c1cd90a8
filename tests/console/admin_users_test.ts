/**
 * `/admin/users`: the search by email prefix, the status and role filters and the paging (whose
 * links keep the filters), as the admin API answers them.
 */
import assert from "node:assert/strict";
import { registerUser } from "../support/auth_support.ts";
import { consoleAdmin, getPage } from "../support/console_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";

/** The user ids the page links to, in order. */
function listed(html: string): string[] {
  return [...html.matchAll(/<a href="\/admin\/users\/([0-9a-f-]{36})">/g)].map((m) => m[1]);
}

/** The href of the page's link named `text`, with entities decoded. */
function linkOf(html: string, text: string): string | undefined {
  const match = new RegExp(`<a href="([^"]+)"[^>]*>${text}</a>`).exec(html);
  return match?.[1].replaceAll("&amp;", "&");
}

/** Five accounts under one email prefix: two admins, one disabled user, two active users. */
async function population(t: TestApp) {
  const prefix = `zeta${crypto.randomUUID().slice(0, 8)}`;
  const ids: Record<string, string> = {};
  for (const name of ["a1", "a2", "d1", "u1", "u2"]) {
    ids[name] = (await registerUser(t, `${prefix}.${name}@example.com`)).id;
  }
  await t.deps.db.updateTable("users").set({ role: "admin" })
    .where("id", "in", [ids.a1, ids.a2]).execute();
  await t.deps.db.updateTable("users").set({ status: "disabled" }).where("id", "=", ids.d1)
    .execute();
  return { prefix, ids };
}

Deno.test("/admin/users searches by email prefix and filters by status and role", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const { prefix, ids } = await population(t);
    const cases: Array<[string, string[]]> = [
      [`?email_prefix=${prefix}`, [ids.a1, ids.a2, ids.d1, ids.u1, ids.u2]],
      [`?email_prefix=${prefix}.a`, [ids.a1, ids.a2]],
      [`?email_prefix=${prefix}&status=disabled`, [ids.d1]],
      [`?email_prefix=${prefix}&status=active&role=user`, [ids.u1, ids.u2]],
      [`?email_prefix=${prefix}&role=admin`, [ids.a1, ids.a2]],
      [`?email_prefix=nobody-${prefix}`, []],
    ];
    for (const [query, expected] of cases) {
      const res = await getPage(t, `/admin/users${query}`, admin.cookie);
      const html = await res.text();
      assert.equal(res.status, 200, query);
      assert.deepEqual(listed(html).sort(), [...expected].sort(), query);
      if (expected.length === 0) assert.ok(html.includes("No user matches."));
    }
    // The form shows the filters it applied.
    const html = await (await getPage(
      t,
      `/admin/users?email_prefix=${prefix}&status=disabled&role=user`,
      admin.cookie,
    )).text();
    assert.ok(html.includes(`value="${prefix}"`));
    assert.match(html, /<option value="disabled" selected>/);
    assert.match(html, /<option value="user" selected>/);
  } finally {
    await t.close();
  }
});

Deno.test("/admin/users pages with the API's cursor, and its links keep the filters", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "super_admin");
    const { prefix, ids } = await population(t);
    const seen: string[] = [];
    let path: string | undefined = `/admin/users?email_prefix=${prefix}&role=user&limit=2`;
    let pages = 0;
    while (path) {
      const html = await (await getPage(t, path, admin.cookie)).text();
      const page = listed(html);
      assert.ok(page.length <= 2, "two users a page");
      seen.push(...page);
      pages++;
      path = linkOf(html, "Next page");
      if (path) {
        const query = new URL(path, "http://localhost").searchParams;
        assert.equal(query.get("email_prefix"), prefix, "the next link keeps the search");
        assert.equal(query.get("role"), "user", "and the filter");
        assert.equal(query.get("limit"), "2", "and the page size");
        assert.ok(query.get("cursor"), "and carries the API's cursor");
      }
      if (pages > 1) {
        const first = linkOf(html, "First page");
        assert.equal(first, `/admin/users?email_prefix=${prefix}&role=user&limit=2`);
      }
    }
    assert.equal(pages, 2);
    assert.deepEqual(seen.sort(), [ids.d1, ids.u1, ids.u2].sort(), "every user once");
  } finally {
    await t.close();
  }
});

Deno.test("/admin/users shows the API's refusal of a filter next to its field", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const res = await getPage(t, "/admin/users?status=locked&cursor=nonsense", admin.cookie);
    const html = await res.text();
    assert.equal(res.status, 422);
    assert.match(html, /<select id="f-status" name="status" aria-invalid="true"/);
    assert.match(html, /<p class="error" id="f-status-error" role="alert">/);
    assert.ok(!html.includes("<table"), "no list under a refused filter");
  } finally {
    await t.close();
  }
});
