-- wrk script: replays a pre-signed request pool (webhook signatures need HMAC, which wrk
-- lacks). Each thread reads its own file pool-<n>.bin ("<length>\n<raw request>" records)
-- from the directory given after `--`, and sends each request once; if the pool runs out
-- it wraps (counted, so the bench can flag duplicates) rather than stopping.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local records = {}
local n = 0
local i = 0
wraps = 0

function init(args)
  local f = assert(io.open(args[1] .. "/pool-" .. tid .. ".bin", "rb"))
  while true do
    local line = f:read("*l")
    if not line then break end
    n = n + 1
    records[n] = f:read(tonumber(line))
  end
  f:close()
  assert(n > 0, "empty pool")
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wraps = wraps + 1
  end
  return records[i]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"statusErrors":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f,"wraps":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, w))
end
