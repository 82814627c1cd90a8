/**
 * The monitoring files in deploy/ against what `GET /metrics` really exposes: the Grafana
 * dashboard (deploy/grafana/citadel.json) is an importable dashboard whose every query names
 * only metrics of a real scrape, with labels those metrics have, and shows every metric; the
 * alert rules (deploy/prometheus/alerts.yml) name only exposed metrics too. promtool and a
 * real Prometheus check the files' syntax in tests/system/prometheus_test.ts.
 */
import assert from "node:assert/strict";
import { Metrics } from "../../src/platform/metrics.ts";
import { buildTestApp, request } from "../support/helpers.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const DATASOURCE = "${DS_PROMETHEUS}";
/** Labels Prometheus adds to every scraped series (`le` is a histogram bucket's). */
const TARGET_LABELS = ["job", "instance"];
/** Grafana's own variables that a query may use. */
const GRAFANA_VARIABLES = new Set(["__rate_interval", "__interval", "__range"]);

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}

interface Exposed {
  /** Sample names a query may use (histograms as `_bucket`, `_sum` and `_count`). */
  samples: Set<string>;
  /** Each metric family's label names. */
  labels: Map<string, string[]>;
}

/** The sample names of a real scrape and the label names the registry declares. */
async function exposed(): Promise<Exposed> {
  const t = await buildTestApp();
  let text: string;
  try {
    const res = await request(t.app, "GET", "/metrics");
    assert.equal(res.status, 200);
    text = await res.text();
  } finally {
    await t.close();
  }
  const samples = new Set<string>();
  const families = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1], type[2]);
      const suffixes = type[2] === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
      for (const suffix of suffixes) samples.add(type[1] + suffix);
    } else if (line !== "" && !line.startsWith("#")) samples.add(/^[a-z_:][\w:]*/i.exec(line)![0]);
  }
  const declared = new Metrics({ version: "0", runtime: "test" }).registry.snapshot();
  assert.deepEqual(
    declared.map((m) => m.name).sort(),
    [...families.keys()].sort(),
    "the scrape shows every declared metric",
  );
  return { samples, labels: new Map(declared.map((m) => [m.name, m.labelNames])) };
}

/** The family a sample name belongs to (`x_bucket` -> `x` for a histogram). */
function familyOf(sample: string, labels: Map<string, string[]>): string {
  if (labels.has(sample)) return sample;
  return sample.replace(/_(bucket|sum|count)$/, "");
}

/**
 * What is wrong with one PromQL expression: a citadel metric the scrape lacks, a label matcher
 * or a `by (...)` label no metric of the expression has, a legend placeholder the result
 * cannot carry. Regular expressions suffice for the plain queries of these files.
 */
function problemsOf(expr: string, exposed: Exposed, legend?: string): string[] {
  const problems: string[] = [];
  const names = [...new Set(expr.match(/\bcitadel_\w+/g) ?? [])];
  const known: string[] = [...TARGET_LABELS];
  for (const name of names) {
    if (!exposed.samples.has(name)) problems.push(`${name} is not exposed`);
    known.push(...exposed.labels.get(familyOf(name, exposed.labels)) ?? []);
    if (name.endsWith("_bucket")) known.push("le");
  }
  for (const [, name, matchers] of expr.matchAll(/\b(citadel_\w+)\{([^}]*)\}/g)) {
    const allowed = [...TARGET_LABELS, ...exposed.labels.get(familyOf(name, exposed.labels)) ?? []];
    for (const [, label] of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
      if (!allowed.includes(label)) problems.push(`${name} has no label ${label}`);
    }
  }
  const grouped: string[] = [];
  for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of list.split(",").map((l) => l.trim()).filter(Boolean)) {
      grouped.push(label);
      if (!known.includes(label)) problems.push(`no metric of the query has label ${label}`);
    }
  }
  for (const [, placeholder] of (legend ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
    if (!grouped.includes(placeholder)) problems.push(`legend {{${placeholder}}} is not kept`);
  }
  return problems;
}

/** The `expr` values of a rules file: one line, or a `|` block of deeper-indented lines. */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split("\n");
  const found: string[] = [];
  lines.forEach((line, i) => {
    const match = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!match) return;
    if (!/^[|>]-?$/.test(match[2])) return void found.push(match[2]);
    const block: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() !== "" && next.search(/\S/) <= match[1].length) break;
      block.push(next.trim());
    }
    found.push(block.join(" "));
  });
  return found;
}

async function dashboard() {
  return JSON.parse(await Deno.readTextFile(new URL("grafana/citadel.json", DEPLOY)));
}

Deno.test("the Grafana dashboard is an importable dashboard on a Prometheus input", async () => {
  const board = await dashboard();
  assert.deepEqual(
    board.__inputs.map((i: Record<string, string>) => [i.name, i.type, i.pluginId]),
    [["DS_PROMETHEUS", "datasource", "prometheus"]],
  );
  assert.equal(typeof board.title, "string");
  assert.match(board.uid, /^[\w-]{1,40}$/);
  assert.ok(Number.isInteger(board.schemaVersion) && board.schemaVersion >= 36);
  assert.equal(board.id, null, "an exported dashboard has no database id");
  // Every datasource reference is the input (or Grafana's built-in annotations), never the uid
  // of a datasource of one Grafana.
  const references: unknown[] = [];
  JSON.stringify(board, (key, value) => {
    if (key === "datasource") references.push(value);
    return value;
  });
  assert.ok(references.length > 20);
  for (const reference of references) {
    assert.ok(
      [DATASOURCE, "-- Grafana --"].includes((reference as { uid?: string }).uid ?? ""),
      JSON.stringify(reference),
    );
  }
  const required = new Set(
    board.__requires.filter((r: { type: string }) => r.type === "panel").map((r: { id: string }) =>
      r.id
    ),
  );
  const panels: Panel[] = board.panels;
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, "panel ids are unique");
  const cells = new Set<string>();
  for (const panel of panels) {
    const { h, w, x, y } = panel.gridPos;
    assert.ok([h, w, x, y].every(Number.isInteger) && x + w <= 24 && h > 0, panel.title);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        assert.ok(!cells.has(`${row},${col}`), `${panel.title} overlaps another panel`);
        cells.add(`${row},${col}`);
      }
    }
    if (panel.type === "row") continue;
    assert.ok(required.has(panel.type), `${panel.type} is listed in __requires`);
    assert.equal(panel.datasource?.uid, DATASOURCE, panel.title);
    assert.ok(panel.targets && panel.targets.length > 0, `${panel.title} has a query`);
    assert.equal(new Set(panel.targets.map((t) => t.refId)).size, panel.targets.length);
    for (const target of panel.targets) {
      assert.equal(target.datasource?.uid, DATASOURCE, panel.title);
      assert.ok(target.expr.trim() !== "", panel.title);
    }
  }
});

Deno.test("every dashboard query names exposed metrics and their labels, and shows every metric", async () => {
  const metrics = await exposed();
  const board = await dashboard();
  const variables = new Set<string>(board.templating.list.map((v: { name: string }) => v.name));
  const queries: Array<{ where: string; expr: string; legend?: string }> = [];
  for (const panel of board.panels as Panel[]) {
    for (const t of panel.targets ?? []) {
      queries.push({ where: `${panel.title} ${t.refId}`, expr: t.expr, legend: t.legendFormat });
    }
  }
  for (const variable of board.templating.list) {
    queries.push({ where: `variable ${variable.name}`, expr: variable.query.query });
  }
  const problems: string[] = [];
  for (const { where, expr, legend } of queries) {
    for (const problem of problemsOf(expr, metrics, legend)) problems.push(`${where}: ${problem}`);
    for (const [, name] of expr.matchAll(/\$\{?(\w+)/g)) {
      if (!variables.has(name) && !GRAFANA_VARIABLES.has(name)) {
        problems.push(`${where}: undefined variable $${name}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  const shown = new Set(
    queries.flatMap((q) => q.expr.match(/\bcitadel_\w+/g) ?? [])
      .map((name) => familyOf(name, metrics.labels)),
  );
  assert.deepEqual([...metrics.labels.keys()].filter((m) => !shown.has(m)), [], "not on a panel");
});

Deno.test("every alert rule names exposed metrics and their labels; the example loads the rules", async () => {
  const metrics = await exposed();
  const rules = await Deno.readTextFile(new URL("prometheus/alerts.yml", DEPLOY));
  const expressions = ruleExpressions(rules);
  assert.equal(expressions.length, (rules.match(/^\s*- alert:/gm) ?? []).length);
  assert.deepEqual(expressions.flatMap((expr) => problemsOf(expr, metrics)), []);
  const named = new Set(expressions.flatMap((expr) => expr.match(/\bcitadel_\w+/g) ?? []));
  for (
    const metric of [
      "citadel_logins_total",
      "citadel_guard_blocks_total",
      "citadel_http_requests_total",
      "citadel_email_outbox_depth",
    ]
  ) assert.ok(named.has(metric), `an alert watches ${metric}`);
  const config = await Deno.readTextFile(new URL("prometheus/prometheus.yml", DEPLOY));
  assert.match(config, /^rule_files:\n\s+- alerts\.yml$/m);
  assert.match(config, /^\s+- job_name: citadel$/m, 'the job the rules select (job="citadel")');
});
