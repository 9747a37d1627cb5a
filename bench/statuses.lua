-- Counts answers by status, per thread (each runs its own Lua state), and prints the sums as
-- "status <code> <count>" lines at the end. Loaded by the other scripts with dofile.
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
