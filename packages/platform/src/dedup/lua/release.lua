--[[
  Releases the dedup claim of a headline whose record Kafka refused for good (too large for the topic, an
  invalid record): the headline was never published and never can be, so its id must not stay claimed for
  the dedup window, or a legitimate re-send of it would be dropped as a duplicate. Only the claim of the
  record that was refused is released: a claim held by another record is left alone. One key (one slot
  on Redis Cluster).

  KEYS[1]  dedup key of a headline id, as claim.lua claims it
  ARGV[1]  origin of the refused record: "<topic>/<partition>/<offset>" (the value claim.lua wrote)

  Returns   1  released: the claim was this record's
            0  claimed by another record: nothing changed
           -1  not claimed (released already, or expired): nothing changed
]]
local holder = redis.call('GET', KEYS[1])
if not holder then return -1 end
if holder ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
