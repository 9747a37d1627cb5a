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
dofile(os.getenv("BENCH_DIR") .. "/statuses.lua")
