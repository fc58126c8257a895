-- wrk script: POST /addEvent with a valid JSON body (used by scripts/bench.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","userId":1}'
