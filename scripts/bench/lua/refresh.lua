-- POST /api/v1/auth/refresh where every request presents a refresh token that has never
-- been used: the thread starts with its share of the pre-issued tokens in
-- BENCH_REFRESH_TOKENS (one a line, at least two per connection) and each 200 response
-- hands back the rotated successor, which goes to the end of the queue. A connection
-- sends its next request only after its response was handled, so a token is never
-- presented twice. Prints "non2xx <n>" for responses without a new token.
local threads = {}
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local queue = {}
local head, tail = 1, 0
failures = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

function init(args)
  local n = 0
  for line in io.lines(os.getenv("BENCH_REFRESH_TOKENS")) do
    if n % nthreads == id - 1 and #line > 0 then push(line) end
    n = n + 1
  end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local token = "queue-exhausted-no-such-token"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local token = string.match(body, '"refresh_token":"([^"]+)"')
    if token then
      push(token)
      return
    end
  end
  failures = failures + 1
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failures") end
  io.write(string.format("non2xx %d\n", total))
end
