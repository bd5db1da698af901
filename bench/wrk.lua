-- wrk script: replays the raw requests bench/run.py wrote and prints one JSON line.
-- Arguments after "--": the data file ("<length>\n<raw request>" records, sent in turn),
-- the responses to stop after, the expected status. Sums X-Bench-Queries and X-Bench-Writes.
-- One thread (-t1): the counters live in its state.

local the_thread

function setup(thread)
  the_thread = thread
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  records, pos = {}, 1
  while pos <= #data do
    local newline = data:find("\n", pos, true)
    local length = tonumber(data:sub(pos, newline - 1))
    records[#records + 1] = data:sub(newline + 1, newline + length)
    pos = newline + length + 1
  end
  limit, expect = tonumber(args[2]), tonumber(args[3])
  sent, received, unexpected, queries, writes = 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  return records[(sent - 1) % #records + 1]
end

function response(status, headers, body)
  received = received + 1
  if status ~= expect then unexpected = unexpected + 1 end
  queries = queries + (tonumber(headers["X-Bench-Queries"]) or 0)
  writes = writes + (tonumber(headers["X-Bench-Writes"]) or 0)
  if received >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local t, e = the_thread, summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "us": %d, "p50": %d, "p99": %d, "unexpected": %d, '
      .. '"queries": %d, "writes": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    t:get("unexpected"), t:get("queries"), t:get("writes"), e.connect + e.read + e.write + e.timeout))
end
