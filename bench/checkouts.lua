-- wrk: POST $BENCH_PATH (/api/v1/checkouts or /api/v1/orders) with one cart per request, a line of
-- $BENCH_CARTS each (product ids separated by spaces: one household each), one unit of every
-- product, cash on delivery, shipped to a commune (so every parcel pays its zone's fee).
local carts = {}
for line in io.lines(os.getenv("BENCH_CARTS")) do
  local ids = {}
  for id in line:gmatch("%S+") do ids[#ids + 1] = id end
  carts[#carts + 1] = ids
end
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
math.randomseed(os.time())
request = function()
  local cart = carts[math.random(#carts)]
  local items = {}
  for i, id in ipairs(cart) do items[i] = '{"product_id":"' .. id .. '","quantity":1}' end
  local body = '{"items":[' .. table.concat(items, ",") .. '],'
    .. '"shipping":{"recipient_name":"Bench","phone":"0987654321","address":"12 Hang Bac",'
    .. '"commune_code":"00070"},"payment_method":"cod"}'
  return wrk.format(nil, path, nil, body)
end
dofile(os.getenv("BENCH_DIR") .. "/statuses.lua")
