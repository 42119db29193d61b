-- bench/api_wrk.lua: wrk's report as one machine-readable line for bench/api.py.
-- Latencies are wrk's (microseconds, per request, from send to full response);
-- errors are wrk's socket errors (connect, read, write, timeout), status the
-- responses outside 2xx/3xx.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
