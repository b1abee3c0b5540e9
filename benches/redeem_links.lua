-- wrk script for share-link redemption: each request redeems a different one-view link, read
-- from the file named by LINKS (one /share/TOKEN path a line); threads take turns through it.
-- A link used up (the file ran out) answers 404 and shows in wrk's non-2xx count.

local paths = {}
for line in io.lines(os.getenv("LINKS")) do
  paths[#paths + 1] = line
end
local next_thread_id = 0
local threads = tonumber(os.getenv("THREADS") or "2")

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

local i = 0
function request()
  -- Thread t takes paths t+1, t+1+threads, ...: no two requests share a link.
  local n = thread_id + 1 + i * threads
  i = i + 1
  local path = paths[n] or "/share/used-up"
  return wrk.format("POST", path, {["Accept"] = "application/json"}, nil)
end
