-- wrk: POST a JSON event with a unique employee id per request.
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local id = string.format("E-%d-%d", math.random(1, 1000000000), n)
  return wrk.format(nil, nil, nil, '{"employee_id":"' .. id .. '","email":"Person.' .. n ..
                    '@Example.com","department":"Engineering"}')
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors=%d non2xx=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
