#!/usr/bin/env bash
# Smoke test of a compiled citadel binary, run from an empty temporary directory so
# that nothing can come from the source tree:
#   --version, secret, serve (health, register, login, me), migrate status,
#   check --json, then a graceful stop (SIGTERM, exit 0).
#
# usage: scripts/smoke_binary.sh <binary>
#        scripts/smoke_binary.sh --from-ci
#
# --from-ci (what .ci/run calls) first builds dist/citadel with `deno task compile`, but
# only when deno compile can obtain its denort base binary: DENORT_BIN is set, or the
# Deno CDN answers within 5 seconds. Otherwise it prints one line saying it was not run
# and why, and exits 0. SMOKE_DENO_CDN overrides the CDN address (tests use it).
# Needs bash and curl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PASSWORD="Tr1cky-Granite-Lantern-42"
EMAIL="smoke@example.com"

fail() {
  echo "smoke_binary: FAILED: $*" >&2
  exit 1
}

deno_cmd() {
  if command -v deno >/dev/null 2>&1; then deno "$@"; else npx -y deno@2.9.6 "$@"; fi
}

denort_target() {
  local arch os
  arch="$(uname -m)"
  case "$arch" in arm64) arch=aarch64 ;; esac
  case "$(uname -s)" in
    Linux) os=unknown-linux-gnu ;;
    Darwin) os=apple-darwin ;;
    *) os=pc-windows-msvc ;;
  esac
  echo "$arch-$os"
}

from_ci() {
  if [ -z "${DENORT_BIN:-}" ]; then
    if ! command -v curl >/dev/null 2>&1; then
      echo "smoke_binary: not run: curl is missing, so the Deno CDN could not be probed and DENORT_BIN is unset"
      exit 0
    fi
    local version url
    version="$(deno_cmd --version | head -n 1 | awk '{print $2}')"
    url="${SMOKE_DENO_CDN:-https://dl.deno.land}/release/v${version}/denort-$(denort_target).zip"
    if ! curl -fsS -o /dev/null --head --max-time 5 "$url" 2>/dev/null; then
      echo "smoke_binary: not run: deno compile cannot get its base binary (DENORT_BIN is unset and $url is unreachable)"
      exit 0
    fi
  elif [ ! -f "$DENORT_BIN" ]; then
    fail "DENORT_BIN=$DENORT_BIN is not a file"
  fi
  echo "== deno task compile"
  (cd "$ROOT" && deno_cmd task compile) || fail "deno task compile"
  exec "$0" "$ROOT/dist/citadel"
}

[ $# -eq 1 ] || { echo "usage: $0 <binary> | --from-ci" >&2; exit 2; }
[ "$1" = "--from-ci" ] && from_ci
command -v curl >/dev/null 2>&1 || fail "curl is required"

BINARY="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$BINARY" ] || fail "$1 is not an executable file"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

# A clean environment: only what the smoke sets, as on a fresh VM.
ENVIRONMENT=(PATH="$PATH" HOME="$WORK" NO_COLOR=1 APP_ENV=development HOST=127.0.0.1 PORT=0)
run() { env -i "${ENVIRONMENT[@]}" JWT_SECRET_KEY="$SECRET" "$BINARY" "$@"; }

echo "== --version"
VERSION_LINE="$("$BINARY" --version)" || fail "--version exited non-zero"
[[ "$VERSION_LINE" =~ ^citadel\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version printed '$VERSION_LINE'"
echo "$VERSION_LINE"

echo "== secret"
SECRET="$("$BINARY" secret | tail -n 1)"
[ "${#SECRET}" -ge 43 ] || fail "secret printed a ${#SECRET}-character secret"

echo "== serve"
# Started directly (not through run(), which would put a subshell between): $! must be
# the server itself for the signal test to mean anything.
env -i "${ENVIRONMENT[@]}" JWT_SECRET_KEY="$SECRET" "$BINARY" serve >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 150); do
  PORT="$(grep -o '"msg":"listening".*"port":[0-9]*' "$WORK/serve.log" | grep -o '[0-9]*$' || true)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "serve exited"; }
  sleep 0.2
done
[ -n "$PORT" ] || { cat "$WORK/serve.log" >&2; fail "serve did not listen within 30 s"; }
URL="http://127.0.0.1:$PORT"

# request METHOD PATH [BODY] [TOKEN] -> prints "STATUS BODY"
request() {
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$URL$2")
  [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' --data "$3")
  [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
  local status
  status="$(curl "${args[@]}")"
  echo "$status $(cat "$WORK/body")"
}
expect() { # expect STATUS "STATUS BODY" what
  [ "${2%% *}" = "$1" ] || fail "$3: expected $1, got ${2}"
  echo "ok  $3"
}

RESPONSE="$(request GET /health)"
expect 200 "$RESPONSE" "GET /health"
[[ "$RESPONSE" == *'"status":"ok"'* ]] || fail "health body: $RESPONSE"
CREDENTIALS="{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
expect 201 "$(request POST /api/v1/auth/register "$CREDENTIALS")" "POST /api/v1/auth/register"
RESPONSE="$(request POST /api/v1/auth/login "$CREDENTIALS")"
expect 200 "$RESPONSE" "POST /api/v1/auth/login"
TOKEN="$(grep -o '"access_token":"[^"]*"' <<<"$RESPONSE" | cut -d'"' -f4)"
[ -n "$TOKEN" ] || fail "login returned no access_token"
RESPONSE="$(request GET /api/v1/me "" "$TOKEN")"
expect 200 "$RESPONSE" "GET /api/v1/me"
[[ "$RESPONSE" == *"\"email\":\"$EMAIL\""* ]] || fail "me body: $RESPONSE"

echo "== graceful stop (SIGTERM)"
kill -TERM "$SERVER_PID"
STATUS=0
wait "$SERVER_PID" || STATUS=$?
SERVER_PID=""
[ "$STATUS" -eq 0 ] || { cat "$WORK/serve.log" >&2; fail "serve exited with $STATUS after SIGTERM"; }
grep -q '"msg":"stopped"' "$WORK/serve.log" || fail "serve did not log its stop"
echo "ok  exit 0"

echo "== migrate status"
STATUS_OUT="$(run migrate status)" || fail "migrate status exited non-zero: $STATUS_OUT"
grep -q '0001_users' <<<"$STATUS_OUT" || fail "migrate status does not list 0001_users"
grep -Eq '^[0-9]+ applied, 0 pending$' <<<"$STATUS_OUT" || fail "migrate status: $STATUS_OUT"
echo "$STATUS_OUT" | tail -n 1

echo "== check --json"
if run --help | grep -Eq '^  check '; then
  CHECK_STATUS=0
  run check --json >"$WORK/check.json" 2>"$WORK/check.err" || CHECK_STATUS=$?
  # 0 passed, 1 findings at or above the fail level (expected for this dev setup), 2 could not run.
  [ "$CHECK_STATUS" -le 1 ] || { cat "$WORK/check.err" >&2; fail "check could not run ($CHECK_STATUS)"; }
  grep -q '"passed":' "$WORK/check.json" || fail "check --json printed no report"
  echo "ok  report written (exit $CHECK_STATUS)"
else
  echo "skipped: this binary has no check command"
fi

echo "smoke_binary: ok ($VERSION_LINE)"
