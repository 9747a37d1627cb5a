-- wrk: POST /api/v1/orders for one random product among those listed in $BENCH_PRODUCTS.
local products = {}
for line in io.lines(os.getenv("BENCH_PRODUCTS")) do products[#products + 1] = line end
local token = os.getenv("BENCH_TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
math.randomseed(os.time())
request = function()
  local id = products[math.random(#products)]
  local body = '{"items":[{"product_id":"' .. id .. '","quantity":1}],'
    .. '"shipping":{"recipient_name":"Bench","phone":"0987654321","address":"Ha Noi"}}'
  return wrk.format(nil, "/api/v1/orders", nil, body)
end
dofile(os.getenv("BENCH_DIR") .. "/statuses.lua")
