-- wrk script for senti serve. Cycles through the lines of a file:
--   wrk -t1 -c64 -d10s -s bench/wrk_predict.lua http://127.0.0.1:PORT -- BODIES_FILE
--     POST /predict (Hugging Face TEI style), each line one JSON body {"inputs": text};
--   wrk -t1 -c1 -d10s -s bench/wrk_predict.lua http://127.0.0.1:PORT -- PATHS_FILE get
--     GET, each line a path such as /predict?text=%E5%A5%BD (the seed's API).
-- done() prints one line "WRK_JSON {...}" with requests, duration, errors and latency percentiles (us).

local bodies = {}
local next_body = 0
local headers = { ["Content-Type"] = "application/json" }
local use_get = false

function init(args)
  local path = args[1]
  if path == nil then error("usage: wrk ... -s wrk_predict.lua URL -- BODIES_FILE [get]") end
  use_get = args[2] == "get"
  for line in io.lines(path) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  if #bodies == 0 then error("no request bodies in " .. path) end
  -- Threads start at different places so they do not send the same text in lockstep.
  next_body = math.random(0, #bodies - 1)
  -- GET (one connection, the serial runs): also read the server's own time of each answer (x-total-time,
  -- ms: from the parsed request to the rendered answer), so that done() can say what HTTP adds per request
  -- over the same requests (wrk's mean latency minus the server's mean), whatever the host's drift.
  if use_get then response = record_server_time end
end

server_ms, server_count = 0, 0

function record_server_time(status, headers, body)
  local t = tonumber(headers["x-total-time"] or headers["X-Total-Time"] or "")
  if t then server_ms, server_count = server_ms + t, server_count + 1 end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  next_body = next_body % #bodies + 1
  if use_get then return wrk.format("GET", bodies[next_body]) end
  return wrk.format("POST", "/predict", headers, bodies[next_body])
end

function done(summary, latency, requests)
  local e = summary.errors
  local ms, count = 0, 0
  for _, t in ipairs(threads) do
    ms, count = ms + (t:get("server_ms") or 0), count + (t:get("server_count") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,' ..
    '"mean_us":%.1f,"max_us":%.1f,"server_answers":%d,"server_mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max, count, count > 0 and 1000 * ms / count or 0))
end
