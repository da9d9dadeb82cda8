--[[
  Claims a headline id for one origin, so a repeat of the same headline is dropped but a redelivery
  of the same record (after a crash between claim and commit) passes again.

  KEYS[1]  the dedup key of the headline id
  ARGV[1]  origin of the claiming record: "<topic>/<partition>/<offset>"
  ARGV[2]  how long the claim lasts, in milliseconds (the dedup window)

  Returns  1  claimed now, or already claimed by this same origin: pass the record on
           0  claimed by another origin within the window: a duplicate
]]
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  return 1
end
return 0
