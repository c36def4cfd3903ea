-- wrk script: keep-alive GETs of one path, given by AM_PATH (default /ok.txt), so that
-- the gateway (/agents/bench/ok.txt) and the nginx proxy (/ok.txt) are driven through
-- the same request() path and pay the same load-generator cost.
local path = os.getenv("AM_PATH") or "/ok.txt"

request = function()
  return wrk.format("GET", path)
end
