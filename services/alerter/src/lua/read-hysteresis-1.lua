--[[
  Reads one indicator's hysteresis entries for an evaluation, and forgets the fields no rule in force
  reads any more. A field names its rule and line (hysteresisKey: rule, dimension, scope, side, measure,
  line, hysteresis), so the entries of a rule removed from the rules file, or edited to another line, are
  never read or written again; but every write of the hash renews its TTL (the alerter's commit), so
  they stayed for as long as the indicator kept moving, and each rules edit grew the hash. Deleted here,
  in the call that reads the hash before each evaluation that may write it: no round trip of its own.
  The entries of a rule left as it was are among those asked for, so a reload keeps them.

  KEYS[1]  the indicator's hysteresis hash: field = hysteresisKey -> its line's entry (JSON), the field
           of its pre-session-19 name likewise, and "@reading" -> the indicator's reading
  ARGV     every field the rules in force keep for the indicator (hysteresisKeysFor over the rule sets
           the batch evaluates with: the field of each line of each rule watching the indicator, its
           pre-session-19 name, and "@reading"), whether or not the batch's updates carry the value a
           rule reads (an aggregator without the rule's window beside one with it); with none, nothing is
           read nor deleted

  Returns  the values of ARGV's fields, in their order (false where absent), as HMGET would. The TTL of
           the hash is left as it is.
]]
if #ARGV == 0 then return {} end
-- At most this many values at once through unpack (Lua's C stack holds about 8000).
local CHUNK = 1000
local wanted = {}
for _, field in ipairs(ARGV) do wanted[field] = true end
local stale = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not wanted[field] then stale[#stale + 1] = field end
end
for i = 1, #stale, CHUNK do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + CHUNK - 1, #stale)))
end
local values = {}
for i = 1, #ARGV, CHUNK do
  local part = redis.call('HMGET', KEYS[1], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
  for _, v in ipairs(part) do values[#values + 1] = v end
end
return values
