-- wrk script: replays a pre-signed request pool (webhook signatures need HMAC, which wrk
-- lacks). Each thread reads its own file pool-<n>.bin ("<length>\n<raw request>" records)
-- from the directory given after `--`, and sends each request once; if the pool runs out
-- it wraps (counted, so the bench can flag duplicates) rather than stopping. An optional
-- second argument paces each connection (see init).
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
  -- Optional pacing: a pause before each request of a connection, drawn from an
  -- exponential distribution with the given mean (ms). Random pauses keep connections
  -- from firing in lock-step bursts (a fixed pause does); together they approximate
  -- Poisson arrivals at about connections * 1000 / (mean + latency) per second.
  local pause = tonumber(args[2] or "0")
  if pause > 0 then
    math.randomseed(os.time() + tid)
    delay = function() return math.floor(-math.log(1 - math.random()) * pause + 0.5) end
  end
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
