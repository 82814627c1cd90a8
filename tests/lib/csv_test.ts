import assert from "node:assert/strict";
import { csvCell, csvRow } from "../../src/lib/csv.ts";

Deno.test("csvCell() neutralises cells a spreadsheet would run as formulas", () => {
  const cases: Array<[unknown, string]> = [
    ["=1+2", "'=1+2"],
    ["+1", "'+1"],
    ["-2", "'-2"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["\rcmd", `"'\rcmd"`],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ["plain", "plain"],
    ["a=b", "a=b"],
  ];
  for (const [input, expected] of cases) assert.equal(csvCell(input), expected, String(input));
});

Deno.test("csvCell() quotes commas, quotes and line breaks as RFC 4180 says", () => {
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("line\nbreak"), '"line\nbreak"');
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(42), "42");
  assert.equal(csvCell({ reason: "x,y" }), '"{""reason"":""x,y""}"');
  assert.equal(csvRow(["a", 1, null]), "a,1,\r\n");
});
