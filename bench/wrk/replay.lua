-- wrk script: replays raw HTTP requests prepared by bench/load.py and reports one JSON line.
--
-- Arguments (after "--"): data file, the number of responses to stop after, the expected
-- status, and a substring the body must contain ("" for none). The data file holds
-- "<length>\n<raw request bytes>" records, sent in turn and cycled; where each must be sent
-- once (fresh checkout tokens, distinct webhook events) load.py prepares more records than
-- the limit plus the requests in flight when it is reached. Every response's
-- X-Bench-Queries header (bench.middleware) is summed, so the query count is that of the
-- very requests timed. Run with one thread (-t1): the counters below live in its state.

local the_thread

function setup(thread)
  the_thread = thread
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  records = {}
  local pos = 1
  while pos <= #data do
    local newline = data:find("\n", pos, true)
    local length = tonumber(data:sub(pos, newline - 1))
    records[#records + 1] = data:sub(newline + 1, newline + length)
    pos = newline + length + 1
  end
  limit = tonumber(args[2])
  expect_status = tonumber(args[3])
  expect_body = args[4] or ""
  sent, received, unexpected = 0, 0, 0
  queries_sum, queries_counted, queries_min, queries_max = 0, 0, -1, 0
  statuses = {}
end

function request()
  sent = sent + 1
  -- Past the end only in the moment between reaching the limit and the thread stopping.
  return records[(sent - 1) % #records + 1]
end

function response(status, headers, body)
  received = received + 1
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= expect_status or (expect_body ~= "" and not body:find(expect_body, 1, true)) then
    unexpected = unexpected + 1
  end
  local queries = tonumber(headers["X-Bench-Queries"])
  if queries then
    queries_sum = queries_sum + queries
    queries_counted = queries_counted + 1
    if queries_min < 0 or queries < queries_min then queries_min = queries end
    if queries > queries_max then queries_max = queries end
  end
  if received >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = the_thread
  local parts = {}
  for status, count in pairs(t:get("statuses")) do
    parts[#parts + 1] = string.format('"%s": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "mean_us": %.1f, "max_us": %d, "unexpected": %d, '
      .. '"queries_sum": %d, "queries_counted": %d, "queries_min": %d, "queries_max": %d, '
      .. '"socket_errors": %d, "timeouts": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, t:get("unexpected"),
    t:get("queries_sum"), t:get("queries_counted"), t:get("queries_min"), t:get("queries_max"),
    errors.connect + errors.read + errors.write, errors.timeout,
    table.concat(parts, ", ")
  ))
end
