-- bench/store_wrk.lua: wrk cycling over the paths given after `--` (one per
-- request, in turn on each connection), with the WRK_RESULT line of
-- bench/api_wrk.lua, for bench/store.py's outgoing limit (a mix of the API's
-- main queries).
local paths = {}
local i = 0

init = function(args)
  for _, p in ipairs(args) do paths[#paths + 1] = p end
  if #paths == 0 then paths[1] = "/" end
end

request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
