-- wrk script: PUT a 100-byte value under a distinct key per request.
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local counter = 0
local body = string.rep("v", 100)

function request()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench-" .. id .. "-" .. counter .. "-" .. math.random(1, 1000000000), nil, body)
end

-- Count non-2xx answers separately so only acknowledged writes are reported.
local errors = 0
function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  end
end
