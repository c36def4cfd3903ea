-- wrk script: keep-alive heartbeats spread over 64 registered instances.
-- With AM_TARGET=static it sends GETs to nginx's static file instead, through the
-- same request() path so that both sides pay the same load-generator cost.
local target = os.getenv("AM_TARGET") or "heartbeat"
local counter = 0
local thread_id = 0
local next_thread = 0

setup = function(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

init = function(args)
  if target == "heartbeat" then
    wrk.method = "PUT"
    wrk.body = '{"cpu":0.42,"memory":0.61,"queue_depth":3}'
    wrk.headers["Content-Type"] = "application/json"
  end
end

request = function()
  counter = counter + 1
  if target == "heartbeat" then
    local id = (counter * 2 + thread_id) % 64
    return wrk.format(nil, "/v1/agents/bench-" .. id .. "/heartbeat")
  end
  return wrk.format(nil, "/ok.txt")
end
