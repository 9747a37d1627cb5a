-- wrk: GET one of the paths listed in $BENCH_PATHS (one per line), picked at random: a crowd
-- of different searches, not one repeated.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local seeded = false
request = function()
  if not seeded then
    -- Each thread its own sequence (os.time() alone would give both threads the same one).
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
    seeded = true
  end
  return wrk.format("GET", paths[math.random(#paths)])
end
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
