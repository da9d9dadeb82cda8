--[[
  Swaps a member's event-time points (redisAlignmentExchange): writes its fields into its consumer
  group's hash and reads every field back, in one step, each field stamped with Redis's own clock, one
  clock for every member whatever their hosts' clocks say (a member whose clock was behind had every
  field it wrote taken for stale by the others, who then caught up unbounded by its partitions).

  A field's value is JSON, {"member":…,"at":…,"ts":<ms>}, as every earlier version wrote it (ts then by
  the writer's clock), so members on old and new code read each other's fields during a rolling deploy.

  KEYS[1]                 the group's hash of points (createKeys(prefix).alignPoints)
  ARGV[1]                 how long the hash outlives this write, in milliseconds
  ARGV[2k], ARGV[2k + 1]  a partition (the field, "<topic>/<partition>") and its value's JSON without
                          its stamp and closing brace: {"member":"…","at":…

  Returns                 {now, fields}: Redis's clock in ms (a decimal string, as the stamps), and the
                          hash's fields and values as HGETALL gives them
]]
local t = redis.call('TIME')
-- '%.0f': Lua's tostring keeps only 14 digits.
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ',"ts":' .. now .. '}')
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {now, redis.call('HGETALL', KEYS[1])}
