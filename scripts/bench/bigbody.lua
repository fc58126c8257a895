-- wrk script: POST /addEvent with a ~180 KB body whose text is mostly
-- multibyte UTF-8 (used by scripts/bench.sh bigbody).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local unit = "é日😀ж "
local details = string.rep(unit, math.floor(180000 / #unit))
wrk.body = '{"name":"big","userId":1,"details":"' .. details .. '"}'
