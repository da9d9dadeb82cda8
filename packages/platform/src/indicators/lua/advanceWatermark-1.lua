--[[
  Advances a namespace's watermark (the indicator store's advanceWatermark): compare and set in one step,
  so two members raising it at once keep the larger.

  KEYS[1]  the watermark
  ARGV[1]  the candidate ms
  ARGV[2]  its TTL (ms)
  ARGV[3]  the newest a stored one may be (the store's refLimit)

  The larger of the two stays, but a stored one that is no number, not finite (nan, inf) or past ARGV[3]
  is damaged (as isDamagedRef judges a ref) and replaced by the candidate. Returns the watermark kept.
]]
local cur = tonumber(redis.call('GET', KEYS[1]))
local new = tonumber(ARGV[1])
if cur == nil or cur ~= cur or cur > tonumber(ARGV[3]) or new > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return tostring(cur)
