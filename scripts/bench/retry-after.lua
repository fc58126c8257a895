-- wrk clients that honour Retry-After (scripts/bench/reads.sh overload): after
-- a 503, a connection of the thread waits the seconds it names before asking
-- again. (wrk's Lua state is per thread, so the wait falls on the thread's
-- next request, from whichever connection: the same number of waits.)
local waits = 0
function delay()
  if waits > 0 then
    waits = waits - 1
    return 1000
  end
  return 0
end
function response(status, headers, body)
  if status == 503 then waits = waits + 1 end
end
