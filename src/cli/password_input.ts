/**
 * Reading a new password for the CLI: typed twice with echo off on a terminal, or the first
 * line of standard input; never from argv.
 */
import { ExitError } from "../lib/exit_error.ts";

/** Exit code of a command cancelled with Ctrl-C, as shells report SIGINT. */
const EXIT_CANCELLED = 130;
const MAX_INPUT = 16 * 1024;

const encoder = new TextEncoder();

function write(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/**
 * Reads a line from the terminal with echo off (raw mode), handling backspace, Ctrl-C
 * and Ctrl-D; the terminal mode is restored whatever happens.
 */
async function readHidden(prompt: string): Promise<string> {
  // Echo goes off before the prompt appears, so nothing typed after it is ever shown.
  Deno.stdin.setRaw(true);
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(256);
  let line = "";
  try {
    write(prompt);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) return line;
      for (const char of decoder.decode(buffer.subarray(0, n), { stream: true })) {
        if (char === "\r" || char === "\n") return line;
        if (char === "\x03") throw new ExitError(EXIT_CANCELLED, "Cancelled");
        if (char === "\x04" && line === "") return line;
        if (char === "\x7f" || char === "\b") line = [...line].slice(0, -1).join("");
        else if (char >= " ") line += char;
        if (line.length > MAX_INPUT) throw new ExitError(1, "The password is too long");
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    write("\n");
  }
}

/** Reads the first line of standard input (a pipe or file), without its line ending. */
async function readLine(): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const reader = Deno.stdin.readable.getReader();
  try {
    while (!text.includes("\n") && text.length <= MAX_INPUT) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.split("\n")[0].replace(/\r$/, "");
}

/** Options of {@linkcode readNewPassword}. */
export interface PasswordInputOptions {
  /** Whether stdin is a terminal; detected when omitted. */
  interactive?: boolean;
}

/**
 * Reads a new password, never from argv (it would show in `ps` and shell history): on a
 * terminal it is typed twice with echo off; otherwise the first line of standard input,
 * so scripts can pipe it in (`printf '%s\n' "$PW" | citadel admin create ...`).
 */
export async function readNewPassword(options: PasswordInputOptions = {}): Promise<string> {
  const interactive = options.interactive ?? Deno.stdin.isTerminal();
  if (!interactive) {
    const password = await readLine();
    if (password === "") {
      throw new ExitError(1, "No password on standard input: pipe one line containing it");
    }
    return password;
  }
  const password = await readHidden("New password: ");
  if (password === "") throw new ExitError(1, "No password entered");
  const again = await readHidden("Repeat the password: ");
  if (again !== password) throw new ExitError(1, "The passwords do not match");
  return password;
}
