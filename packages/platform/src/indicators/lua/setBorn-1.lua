--[[
  Sets the namespace's born time when it has none, in each batch's admission pipeline, before its
  registries and state.

  KEYS[1]  the namespace's born time (namespace-born.ts)
  ARGV[1]  the candidate ms (bornCandidateMs of the batch)
  ARGV[2]  its TTL (ms)
  ARGV[3]  the newest a stored one may be (the store's refLimit)

  A stored one stays, its TTL renewed, unless it is absent, or no number, not finite or past ARGV[3]
  (damaged, as isDamagedRef judges a ref), when the candidate replaces it. Its own call rather than a key
  more in each scope's script, which touches the scope's slot alone (Redis Cluster); one per batch.
  Returns 1.
]]
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur == nil or cur ~= cur or cur == -math.huge or cur > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
