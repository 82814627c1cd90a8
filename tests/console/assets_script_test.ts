/**
 * The console script's passkey ceremony (assets.ts `SCRIPT`), run against a stand-in of the
 * few browser objects it touches (a form, its alert and button, fetch, location, the
 * WebAuthn library): what it shows for a refusal (the console's message, else the first field
 * error, else the detail), that it follows only a path of this site, also the one a refusal
 * carries when the step cannot be retried, and that after it sends the browser on the button
 * stays disabled.
 */
import assert from "node:assert/strict";
import { SCRIPT } from "../../src/console/assets.ts";

/** An answer the stand-in fetch gives, in order. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Runs the script on one ceremony form; `answers` are the options' and the action's. */
async function ceremony(
  answers: Answer[],
  options: { ceremony?: "register" | "authenticate"; reauthenticate?: string } = {},
) {
  const alert = { textContent: "", hidden: true };
  const button = {
    disabled: false,
    focused: 0,
    focus() {
      this.focused++;
    },
  };
  let submit: ((event: { preventDefault(): void }) => void) | undefined;
  const form = {
    hidden: true,
    dataset: {
      passkey: options.ceremony ?? "register",
      options: "/account/passkeys/options",
      reauthenticate: options.reauthenticate,
    } as Record<string, string | undefined>,
    fields: { _csrf: "token", name: "Laptop" },
    getAttribute: (name: string) => name === "action" ? "/account/passkeys" : null,
    querySelector: (selector: string) =>
      selector === "[data-passkey-error]"
        ? alert
        : selector === "button[type=submit]"
        ? button
        : null,
    addEventListener: (type: string, listener: typeof submit) => {
      if (type === "submit") submit = listener;
    },
  };
  let ready: (() => void) | undefined;
  const document = {
    addEventListener: (type: string, listener: () => void) => {
      if (type === "DOMContentLoaded") ready = listener;
    },
    querySelectorAll: (selector: string) => selector === "form[data-passkey]" ? [form] : [],
    querySelector: () => null,
  };
  const requests: Array<{ url: string; csrf: string; body: Record<string, unknown> }> = [];
  const fetch = (url: string, init: { headers: Record<string, string>; body: string }) => {
    requests.push({ url, csrf: init.headers["x-csrf-token"], body: JSON.parse(init.body) });
    const answer = answers[requests.length - 1] ?? { status: 500, body: {} };
    return Promise.resolve({
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      json: () => Promise.resolve(answer.body),
    });
  };
  const ceremonies: string[] = [];
  const webauthn = {
    startRegistration: () => (ceremonies.push("register"), Promise.resolve({ id: "new" })),
    startAuthentication: () => (ceremonies.push("authenticate"), Promise.resolve({ id: "old" })),
  };
  const assigned: string[] = [];
  const location = {
    href: "http://localhost/account",
    origin: "http://localhost",
    pathname: "/account",
    hash: "",
    assign: (to: string) => assigned.push(to),
  };
  const window = { PublicKeyCredential: {}, SimpleWebAuthnBrowser: webauthn, confirm: () => true };
  // FormData(form): the form's fields as entries.
  const FormData = function (this: unknown, f: typeof form) {
    return Object.entries(f.fields);
  };
  new Function(
    "document",
    "window",
    "fetch",
    "location",
    "history",
    "navigator",
    "FormData",
    SCRIPT,
  )(
    document,
    window,
    fetch,
    location,
    { replaceState() {} },
    {},
    FormData,
  );
  ready!();
  assert.equal(form.hidden, false, "the ceremony form is revealed");
  submit!({ preventDefault() {} });
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  return { alert, button, requests, ceremonies, assigned };
}

const options: Answer = { status: 200, body: { challenge: "abc" } };

Deno.test("a refusal shows the console's message first, else the first field error's message, else the detail, else the status; the button comes back, focused", async () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "field errors",
      {
        code: "validation_failed",
        detail: "The request has invalid fields",
        errors: [
          { field: "name", message: "The name can be at most 100 characters long." },
          { field: "other", message: "second" },
        ],
      },
      "The name can be at most 100 characters long.",
    ],
    [
      "a worded message",
      { code: "x", message: "Worded.", detail: "Detail.", errors: [{ field: "a", message: "F" }] },
      "Worded.",
    ],
    ["a detail only", { code: "passkey_limit_reached", detail: "At most 20." }, "At most 20."],
    ["empty errors", { detail: "Detail.", errors: [] }, "Detail."],
    ["nothing", {}, "Something went wrong (422). Try again."],
  ];
  for (const [what, body, text] of cases) {
    const run = await ceremony([{ status: 422, body }]);
    assert.equal(run.alert.textContent, text, what);
    assert.equal(run.alert.hidden, false, what);
    assert.deepEqual(run.ceremonies, [], `${what}: the authenticator is not asked`);
    assert.equal(run.button.disabled, false, what);
    assert.equal(run.button.focused, 1, what);
    assert.deepEqual(run.assigned, [], what);
  }
});

Deno.test("a completed ceremony sends the browser to the answered path of this site, and the button stays disabled while the page goes", async () => {
  const run = await ceremony([options, {
    status: 201,
    body: { id: "p", location: "/account?done=passkey_added" },
  }]);
  assert.deepEqual(run.ceremonies, ["register"]);
  assert.deepEqual(run.requests.map((r) => [r.url, r.csrf]), [
    ["/account/passkeys/options", "token"],
    ["/account/passkeys", "token"],
  ]);
  assert.deepEqual(run.requests[1].body, { name: "Laptop", response: { id: "new" } });
  assert.deepEqual(run.assigned, ["/account?done=passkey_added"]);
  assert.equal(run.button.disabled, true, "not re-enabled: the page is navigating");
  assert.equal(run.alert.hidden, true);
});

Deno.test("a location that leaves the site (//host, /\\host, an absolute URL, a tab the URL parser drops) is never followed: the form says something went wrong", async () => {
  for (
    const location of [
      "//evil.example/",
      "/\\evil.example/",
      "https://evil.example/account",
      "/\t/evil.example/",
      "javascript:alert(1)",
      "account",
    ]
  ) {
    const run = await ceremony([options, { status: 200, body: { location } }], {
      ceremony: "authenticate",
    });
    assert.deepEqual(run.assigned, [], JSON.stringify(location));
    assert.equal(run.alert.hidden, false, JSON.stringify(location));
    assert.equal(run.alert.textContent, "Something went wrong (200). Try again.");
    assert.equal(run.button.disabled, false);
  }
});

Deno.test("a refusal that ends the step (a dead mfa_token) shows its message and follows its location; a refusal's foreign location is not followed", async () => {
  const dead = {
    status: 401,
    body: {
      code: "invalid_mfa_token",
      message: "The sign-in took too long. Start again.",
      location: "/account/sign-in?next=%2Fadmin&error=expired",
    },
  };
  for (const answers of [[dead], [options, dead]]) {
    const run = await ceremony(answers, { ceremony: "authenticate" });
    assert.equal(run.alert.textContent, "The sign-in took too long. Start again.");
    assert.deepEqual(run.assigned, ["/account/sign-in?next=%2Fadmin&error=expired"]);
    assert.equal(run.button.disabled, true, "the page is going");
  }
  const foreign = await ceremony([{ status: 401, body: { ...dead.body, location: "//evil/" } }]);
  assert.deepEqual(foreign.assigned, []);
  assert.equal(foreign.button.disabled, false);
});

Deno.test("a refusal for a stale sign-in goes to the form's reauthentication page, the button staying disabled", async () => {
  const run = await ceremony([{ status: 403, body: { code: "reauthentication_required" } }], {
    reauthenticate: "/account/reauthenticate?next=%2Faccount",
  });
  assert.deepEqual(run.assigned, ["/account/reauthenticate?next=%2Faccount"]);
  assert.equal(run.button.disabled, true);
  assert.equal(run.alert.hidden, true);
});
