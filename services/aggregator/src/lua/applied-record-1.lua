--[[
  Records that every record of a handled batch of one partition was applied (redisAppliedOffsets'
  record, applied-offsets.ts): joinApplied, in one step.

  KEYS[1]  the hash of a group's applied ranges: field `<topic>/<partition>` -> `from to maxTs`
  ARGV[1]  the field
  ARGV[2..5]  the batch's first and last offsets, its oldest and newest record timestamps (ms)
  ARGV[6]  the hash's TTL (ms)
  Returns 1.
]]
local from, to, minTs, maxTs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local a, b, ts = string.match(cur, '^(%-?%d+) (%-?%d+) (%-?%d+)$')
  a, b, ts = tonumber(a), tonumber(b), tonumber(ts)
  if a and from >= a and (from == b + 1 or (from <= b and minTs <= ts)) then
    from = a
    if b > to then to = b end
    if ts > maxTs then maxTs = ts end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %d %d', from, to, maxTs))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
