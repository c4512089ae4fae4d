-- wrk script for bench/ingest.py: POST /v1/events with unique event_ids, the same pageviews as the
-- peer trackers send them (Plausible's /api/event, PostHog's /e/), or GET a ceiling path.
-- Configured by environment: BENCH_MODE (events|plausible|posthog|ceiling), BENCH_BATCH,
-- BENCH_PROPERTY, BENCH_KEY; Plausible's requests name the property's domain, bench.example.
local mode = os.getenv("BENCH_MODE")
local batch = tonumber(os.getenv("BENCH_BATCH") or "1")
local property = os.getenv("BENCH_PROPERTY")
local key = os.getenv("BENCH_KEY")
-- With BENCH_CLOSE set, every request asks for its connection to be closed: a new one per request.
local close = os.getenv("BENCH_CLOSE") == "1"
local threads = {}
local counter = 0
local run_id

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  accepted, refused = 0, 0
  run_id = string.format("%d-%d-%d", os.time(), thread_id, math.random(1, 1000000000))
end

local function event(n)
  return string.format(
    '{"event_id":"%s-%d","type":"pageview","context":{"page":{"url":"https://example.com/p/%d","title":"Page"},' ..
    '"campaign":{"utm":{"source":"newsletter","campaign":"c%d"}}},"identity":{"visitor_id":"v%d","session_id":"s%d"}}',
    run_id, n, n % 50, n % 5, n % 1000, n % 3000)
end

local agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

local function peer_request()
  local headers = {["Content-Type"] = "text/plain", ["User-Agent"] = agent}
  if close then headers["Connection"] = "close" end
  if mode == "plausible" then
    counter = counter + 1
    local body = string.format(
      '{"n":"pageview","u":"https://bench.example/p/%d?utm_source=newsletter","d":"bench.example","r":null}',
      counter % 50)
    return wrk.format("POST", "/api/event", headers, body)
  end
  local events = {}
  for i = 1, batch do
    counter = counter + 1
    events[i] = string.format(
      '{"uuid":"%s-%d","event":"$pageview","timestamp":"%s","properties":{"distinct_id":"d%d",' ..
      '"$session_id":"s%d","$current_url":"https://bench.example/p/%d","$referrer":"$direct","title":"Page"}}',
      run_id, counter, os.date("!%Y-%m-%dT%H:%M:%SZ"), counter % 1000, counter % 3000, counter % 50)
  end
  local body = '{"api_key":"' .. key .. '","batch":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", "/e/", headers, body)
end

request = function()
  if mode == "ceiling" then
    return wrk.format("GET", "/healthz", close and {["Connection"] = "close"} or nil)
  end
  if mode == "plausible" or mode == "posthog" then
    return peer_request()
  end
  local events = {}
  for i = 1, batch do
    counter = counter + 1
    events[i] = event(counter)
  end
  local body = '{"schema_version":1,"property_id":"' .. property .. '","sent_at":"' ..
    os.date("!%Y-%m-%dT%H:%M:%SZ") .. '","events":[' .. table.concat(events, ",") .. ']}'
  local headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json",
    ["User-Agent"] = agent}
  if close then headers["Connection"] = "close" end
  return wrk.format("POST", "/v1/events", headers, body)
end

response = function(status, headers, body)
  if status == 202 or (status == 200 and (mode == "ceiling" or mode == "posthog")) then
    accepted = accepted + (mode == "ceiling" and 1 or batch)
  else
    refused = refused + 1
  end
end

done = function(summary, latency, requests)
  local total_accepted, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_refused = total_refused + thread:get("refused")
  end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "accepted_events": %d, "refused_requests": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, total_accepted, total_refused,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
