--[[
  Claims headline ids for the records that carry them, so a repeat of a headline is dropped while a
  redelivery of the same record (after a crash between claim and commit, or a batch given up after its
  claims and handled again) passes again, told apart from a first claim: it must be published again, but
  is not a new headline (ingest counts its time corrections only on a first claim). All KEYS share one
  hash tag (a dedup shard), so the script touches one slot and runs on Redis Cluster.

  The keys and values (the claiming record's origin, for the dedup window) are those of every earlier
  version of this script, so members on old and new code agree on who holds an id during a rolling deploy.

  KEYS[i]      dedup key of the i-th headline id
  ARGV[1]      how long a claim lasts, in milliseconds (the dedup window)
  ARGV[i + 1]  origin of the i-th claiming record: "<topic>/<partition>/<offset>"

  Returns      an array with one integer per key, in order:
               1  claimed now (no claim within the window): a new headline, pass the record on
               2  already claimed by this same origin: a retry or redelivery, pass the record on again
               0  claimed by another origin within the window: a duplicate
]]
local ttl = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local origin = ARGV[i + 1]
  -- One command per key (Redis >= 7.0): set when absent, and either way return who held it before.
  local holder = redis.call('SET', KEYS[i], origin, 'NX', 'PX', ttl, 'GET')
  if not holder then
    out[i] = 1
  elseif holder == origin then
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
