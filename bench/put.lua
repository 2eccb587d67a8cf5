-- wrk script: durable small writes, each connection to its own keys (PUT /bench/<thread>-<n>.json).
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
end
function request()
  counter = counter + 1
  local path = string.format("/bench/t%d/k%d.json", thread_id, counter % 10000)
  return wrk.format("PUT", path, {["Content-Type"] = "application/json"}, string.format('{"n":%d,"s":"value"}', counter))
end
