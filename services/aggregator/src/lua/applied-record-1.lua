--[[
  Records what a partition's handled batches applied (redisAppliedOffsets' record, applied-offsets.ts):
  joinApplied and joinTail, in one step.

  KEYS[1]  the hash of a group's applied ranges: field `<topic>/<partition>` -> `from to maxTs`, and
           `<topic>/<partition>~tail` -> `from to maxTs belowMs`
  ARGV[1]  the field
  ARGV[2]  the hash's TTL (ms)
  ARGV[3]  '1' when a range follows: ARGV[4..7] its first and last offsets, its oldest and newest record
           timestamps (ms)
  ARGV[8]  '1' when a tail follows: ARGV[9..12] the same of it, ARGV[13] the event time its records applied
           are below (ms)
  Returns 1.
]]
local rangeField, tailField = ARGV[1], ARGV[1] .. '~tail'

-- The stored range, joined with the one given (joinApplied).
local hasRange, from, to, maxTs
local cur = redis.call('HGET', KEYS[1], rangeField)
if cur then
  local a, b, ts = string.match(cur, '^(%-?%d+) (%-?%d+) (%-?%d+)$')
  if a then
    hasRange, from, to, maxTs = true, tonumber(a), tonumber(b), tonumber(ts)
  end
end
if ARGV[3] == '1' then
  local f, t, minTs, mx = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  if hasRange and f >= from and (f == to + 1 or (f <= to and minTs <= maxTs)) then
    if t > to then to = t end
    if mx > maxTs then maxTs = mx end
  else
    hasRange, from, to, maxTs = true, f, t, mx
  end
  redis.call('HSET', KEYS[1], rangeField, string.format('%d %d %d', from, to, maxTs))
end

-- The stored tail, joined with the one given (joinTail).
local hasTail, tf, tt, tmx, below
local curTail = redis.call('HGET', KEYS[1], tailField)
if curTail then
  local a, b, ts, bl = string.match(curTail, '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+)$')
  if a then
    hasTail, tf, tt, tmx, below = true, tonumber(a), tonumber(b), tonumber(ts), tonumber(bl)
  end
end
if ARGV[8] == '1' then
  local f, t, minTs, mx, bl =
    tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
  if hasTail and tt > t and f <= tt + 1 and tf <= t + 1 and minTs <= tmx then
    if f < tf then tf = f end
    if mx > tmx then tmx = mx end
    if bl < below then below = bl end
  else
    hasTail, tf, tt, tmx, below = true, f, t, mx, bl
  end
end
if hasTail and hasRange and from <= tf and to >= tt then
  if curTail then redis.call('HDEL', KEYS[1], tailField) end
elseif hasTail and ARGV[8] == '1' then
  redis.call('HSET', KEYS[1], tailField, string.format('%d %d %d %d', tf, tt, tmx, below))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
