-- wrk script for `POST /secrets`: every request creates a new secret under a unique name
-- (names are unique per owner, so a repeated body would measure the 409 path instead).
-- Authorization and Content-Type come from `wrk -H`; this script only builds the body.

-- benches/load.sh exports VALUE_BYTES; 1 KiB when run by hand.
local value = string.rep("x", tonumber(os.getenv("VALUE_BYTES") or "1024"))
-- Set RUN to something new for every run against the same server, so names never repeat.
local run = os.getenv("RUN") or "0"
local next_thread_id = 0
local counter = 0

-- Runs in the main Lua state once per wrk thread: hand each thread its own id.
function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

-- Runs in each thread's own Lua state, so `counter` is per thread; `thread_id` keeps the
-- names of different threads apart. Names stay within [A-Za-z0-9._/-], 1-128 chars.
function request()
  counter = counter + 1
  local body = string.format('{"name":"load/r%s/t%d/%d","value":"%s"}', run, thread_id, counter, value)
  return wrk.format("POST", "/secrets", nil, body)
end
