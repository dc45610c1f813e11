-- wrk: POST a JSON event with a unique employee id per request.
-- BENCH_MAX=N: the thread stops after N answers (run it with -t1 for N in all).
local n = 0
local max = tonumber(os.getenv("BENCH_MAX") or "0")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local id = string.format("E-%d-%d", math.random(1, 1000000000), n)
  -- hris_id: one of the sandbox fixture's 56 employees, for the outbound run's GET
  return wrk.format(nil, nil, nil, '{"employee_id":"' .. id .. '","hris_id":"E-' .. (1001 + n % 56) ..
                    '","email":"Person.' .. n .. '@Example.com","department":"Engineering"}')
end
if max > 0 then
  local answered = 0
  response = function()
    answered = answered + 1
    if answered >= max then wrk.thread:stop() end
  end
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors=%d non2xx=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
