-- POST /api/v1/auth/login as BENCH_USERS users in turn (email format BENCH_EMAIL, one %d),
-- so no (address, email) pair of the login guard has more than one attempt in flight.
local users = tonumber(os.getenv("BENCH_USERS"))
local email = os.getenv("BENCH_EMAIL")
local password = os.getenv("BENCH_PASSWORD")
local i = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  i = i % users + 1
  local body = '{"email":"' .. string.format(email, i) .. '","password":"' .. password .. '"}'
  return wrk.format(nil, nil, nil, body)
end
