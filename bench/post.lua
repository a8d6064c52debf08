-- wrk: every request a POST of the JSON body in $BENCH_BODY (run.sh sets it per scenario).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
