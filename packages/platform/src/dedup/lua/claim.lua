--[[
  Claims headline ids for the records that carry them, so a repeat of a headline is dropped while a
  redelivery of the same record (after a crash between claim and commit) passes again. All KEYS share
  one hash tag (a dedup shard), so the script touches one slot and runs on Redis Cluster.

  KEYS[i]      dedup key of the i-th headline id
  ARGV[1]      how long a claim lasts, in milliseconds (the dedup window)
  ARGV[i + 1]  origin of the i-th claiming record: "<topic>/<partition>/<offset>"

  Returns      an array with one integer per key, in order:
               1  claimed now, or already claimed by this same origin: pass the record on
               0  claimed by another origin within the window: a duplicate
]]
local ttl = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local origin = ARGV[i + 1]
  -- One command per key (Redis >= 7.0): set when absent, and either way return who held it before.
  local holder = redis.call('SET', KEYS[i], origin, 'NX', 'PX', ttl, 'GET')
  if (not holder) or holder == origin then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
