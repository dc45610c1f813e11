-- wrk: POST {"n": K} (K counts up per thread), the job given to both engines in the peer run.
local k = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  k = k + 1
  return wrk.format(nil, nil, nil, '{"n":' .. k .. '}')
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors=%d non2xx=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
