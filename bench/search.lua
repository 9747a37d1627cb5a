-- wrk: GET /api/v1/products?q=… with a random query from a fixed list (with and without diacritics).
local queries = {"vai%20thieu", "v%E1%BA%A3i%20thi%E1%BB%81u", "cam%20sanh", "gao%20st25", "che%20thai%20nguyen",
  "xoai", "mat%20ong", "ca%20phe", "tom", "buoi%20da%20xanh", "nhan", "rau", "thanh%20long", "duong"}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/products?q=" .. queries[math.random(#queries)] .. "&per_page=20")
end
-- Counted per thread (each runs its own Lua state) and summed at the end.
statuses = {}
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function()
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  for status, count in pairs(total) do io.write(string.format("status %d %d\n", status, count)) end
end
