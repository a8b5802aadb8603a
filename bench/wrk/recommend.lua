-- wrk: GET /v1/recommend for random users u1..u$USERS (default 100000), top-10.
local users = tonumber(os.getenv("USERS") or "100000")
local k = os.getenv("K") or "10"
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/recommend?k=" .. k .. "&user=u" .. math.random(1, users))
end
