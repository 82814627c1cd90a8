/**
 * CSV output that is safe to open in a spreadsheet: RFC 4180 quoting and formula
 * neutralisation (audit export).
 * @module
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV cell: text a spreadsheet would run as a formula (starting with = + - @ TAB or
 * CR) gets a leading single quote, then RFC 4180 quoting when the text holds a quote,
 * comma or line break.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record terminated by CRLF, as RFC 4180 specifies. */
export function csvRow(values: readonly unknown[]): string {
  return values.map(csvCell).join(",") + "\r\n";
}
