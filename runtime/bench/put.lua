-- wrk script: PUT a 100-byte value under a distinct key per request.
--
-- The request is the one `wrk.format` writes (request line, Host,
-- Content-Length, body), but only the request line is built per request:
-- `wrk.format` cost wrk about 6 us of CPU per request, CPU that the
-- group-commit runs share with the servers on a 2-core machine. There is no
-- `response` function: with one, wrk hands every answer's headers and body
-- to Lua; answers other than 2xx are counted by wrk itself ("Non-2xx",
-- which bench/run.sh reports).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local counter = 0
local body = string.rep("v", 100)
local tail

function init(args)
  tail = " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function request()
  counter = counter + 1
  return "PUT /v1/kv/bench-" .. id .. "-" .. counter .. "-" .. math.random(1, 1000000000) .. tail
end
