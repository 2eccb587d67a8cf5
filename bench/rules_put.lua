-- wrk script for bench/rules_bench.sh: each thread is one user (args: namespace, then one token per thread) and
-- writes new posts under its own /users/<uid>/posts, with the user's token.
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  ns = args[1]
  token = args[id + 2]
  uid = "u" .. id
end
function request()
  counter = counter + 1
  local path = string.format("/users/%s/posts/p%d.json?ns=%s&auth=%s", uid, counter, ns, token)
  local body = string.format('{"title":"post %d","body":"hello from %s","ts":1700000000000}', counter, uid)
  return wrk.format("PUT", path, {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    os.exit(1)
  end
end
