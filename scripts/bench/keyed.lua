-- wrk script: POST /addEvent, each with a new Idempotency-Key (used by
-- scripts/bench/keys.sh). Keys are the thread's id and a counter.
local counter = 0
local thread_id = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  return wrk.format("POST", "/addEvent", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. counter,
  }, '{"name":"bench","userId":1}')
end
