import assert from "node:assert/strict";
import { allowedHostEntry, parseHost } from "../../src/lib/host.ts";

Deno.test("parseHost() strips ports and trailing dots and rejects what is not a host", () => {
  assert.equal(parseHost("API.example.com:443"), "api.example.com");
  assert.equal(parseHost("[::1]:8000"), "[::1]");
  assert.equal(parseHost("127.0.0.1"), "127.0.0.1");
  for (const bad of ["", "a,b", "a b", "a/b", "a@b", "a:99999", "::1", "a..b", ".a"]) {
    assert.equal(parseHost(bad), undefined, bad);
  }
});

Deno.test("allowedHostEntry() normalises an entry and keeps its leading dot", () => {
  assert.equal(allowedHostEntry("API.Example.com:8443"), "api.example.com");
  assert.equal(allowedHostEntry(".Example.org."), ".example.org");
  assert.equal(allowedHostEntry("[::1]"), "[::1]");
  for (const bad of ["https://api.example.com", ".", "..example.org", "api.example.com/x"]) {
    assert.equal(allowedHostEntry(bad), undefined, bad);
  }
});
