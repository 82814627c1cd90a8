/**
 * A lossless tokenizer of SQLite SQL and the quoting helpers built on it, so `migrate uuid`
 * can rewrite statements without reformatting them.
 * @module
 */

/** One lexical token of SQLite SQL; joining every token's text gives back the input. */
export interface Token {
  kind: "space" | "word" | "quoted" | "string" | "punct";
  text: string;
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

function scanQuoted(sql: string, start: number, close: string): number {
  let i = start + 1;
  for (;;) {
    const at = sql.indexOf(close, i);
    if (at < 0) throw new Error(`Unterminated quote in SQL at offset ${start}`);
    // SQLite escapes a closing quote by doubling it; brackets cannot be escaped.
    if (close !== "]" && sql[at + 1] === close) {
      i = at + 2;
      continue;
    }
    return at + 1;
  }
}

/** Splits SQL into tokens, keeping whitespace and comments so the text can be rebuilt. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    let end: number;
    let kind: Token["kind"];
    if (/\s/.test(c)) {
      end = i + 1;
      while (end < sql.length && /\s/.test(sql[end])) end++;
      kind = "space";
    } else if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      end = nl < 0 ? sql.length : nl + 1;
      kind = "space";
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      end = close < 0 ? sql.length : close + 2;
      kind = "space";
    } else if (c === "'") {
      end = scanQuoted(sql, i, "'");
      kind = "string";
    } else if (c === '"' || c === "`" || c === "[") {
      end = scanQuoted(sql, i, c === "[" ? "]" : c);
      kind = "quoted";
    } else if (WORD.test(c)) {
      end = i + 1;
      while (end < sql.length && WORD.test(sql[end])) end++;
      kind = "word";
    } else {
      end = i + 1;
      kind = "punct";
    }
    tokens.push({ kind, text: sql.slice(i, end) });
    i = end;
  }
  return tokens;
}

/** The name a word or quoted identifier token stands for. */
export function identValue(token: Token): string {
  if (token.kind !== "quoted") return token.text;
  const q = token.text[0];
  const inner = token.text.slice(1, -1);
  return q === "[" ? inner : inner.replaceAll(q + q, q);
}

/** Quotes an identifier for SQLite. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQLite. */
export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** True for tokens that carry meaning (not whitespace or comments). */
export function significant(token: Token): boolean {
  return token.kind !== "space";
}

/** Upper-cased text of a bare word, or "" for anything else. */
export function keyword(token: Token | undefined): string {
  return token?.kind === "word" ? token.text.toUpperCase() : "";
}
