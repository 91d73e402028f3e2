-- wrk script for bench_log_http: GETs the request paths listed in a file
-- (one per line, the file name given after "--"), each thread cycling
-- through them from its own starting point; prints one JSON line with the
-- totals (latencies in microseconds).
--   wrk -t2 -c16 -d5s -s wrk_paths.lua http://127.0.0.1:PORT -- paths.txt
local threads = 0

function setup(thread)
   thread:set("id", threads)
   threads = threads + 1
end

local paths, n, i = {}, 0, 0

function init(args)
   for line in io.lines(args[1]) do
      n = n + 1
      paths[n] = line
   end
   i = ((id or 0) * 7919) % n
end

function request()
   i = i % n + 1
   return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,' ..
      '"p50_us":%d,"p99_us":%d}\n',
      summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
      e.status, latency:percentile(50), latency:percentile(99)))
end
