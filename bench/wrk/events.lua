-- wrk: POST /v1/events with batches of $BATCH (default 1000) random view events.
local users = tonumber(os.getenv("USERS") or "100000")
local items = tonumber(os.getenv("ITEMS") or "100000")
local batch = tonumber(os.getenv("BATCH") or "1000")
math.randomseed(7)
request = function()
  local parts = {}
  for k = 1, batch do
    parts[k] = string.format('{"user":"u%d","item":"i%d","type":"view"}', math.random(1, users), math.random(1, items))
  end
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end
