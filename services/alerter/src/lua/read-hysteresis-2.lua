--[[
  Reads one indicator's hysteresis entries for an evaluation, and forgets the fields no rule in force
  keeps any more once they have gone unwritten for a grace period in event time. A field names its rule
  and line (hysteresisKey: rule, dimension, scope, side, measure, line, hysteresis), so the entries of a
  rule removed from the rules file, or edited to another line, are never read or written again; but every
  write of the hash renews its TTL (the alerter's commit), so they stayed for as long as the indicator
  kept moving, and each rules edit grew the hash. Deleted here, in the call that reads the hash before
  each evaluation that may write it: no round trip of its own. The entries of a rule left as it was are
  among those asked for, so a reload keeps them.

  Not at once: two rules versions read one hash while they run side by side (a rolling restart with a
  rules change, members reloaded at different times, the indicator's partition moving between them), and
  each does not list the lines of the rules the other added or edited. Deleted by the other version's
  read, a disarmed line re-armed, and paged again once its cooldown was over if the value was still past
  it (version 1 of this script). An entry in use is rewritten by nearly every update its version
  evaluates (every update that carries its value), so its asOfMs keeps up with the indicator's event
  time; the entry of a rule no version has any more stops there, and goes once the indicator's updates
  are past it by the grace. Event time, not the wall clock: a replay or a backlog of old updates deletes
  nothing newer than itself.

  KEYS[1]  the indicator's hysteresis hash: field = hysteresisKey -> its line's entry (JSON), the field
           of its pre-session-19 name likewise, and "@reading" -> the indicator's reading (every value a
           JSON object with asOfMs, the event time of the update that wrote it)
  ARGV[1]  event time, ms (the oldest asOf of the batch's updates of the indicator, less the grace): a
           field not among ARGV[2..] is kept while its value's asOfMs is at or after it, and deleted once
           older, or when its value is no JSON object with a numeric asOfMs; "" deletes every such field at
           once (no grace)
  ARGV[2..] every field the rules in force keep for the indicator (hysteresisKeysFor over the rule sets
           the batch evaluates with: the field of each line of each rule watching the indicator, its
           pre-session-19 name, and "@reading"), whether or not the batch's updates carry the value a
           rule reads (an aggregator without the rule's window beside one with it); with none, nothing is
           read nor deleted

  Returns  the values of ARGV[2..]'s fields, in their order (false where absent), as HMGET would. The TTL
           of the hash is left as it is.
]]
if #ARGV < 2 then return {} end
-- At most this many values at once through unpack (Lua's C stack holds about 8000).
local CHUNK = 1000
local keepSince = tonumber(ARGV[1])
local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local unlisted = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not wanted[field] then unlisted[#unlisted + 1] = field end
end
local stale = unlisted
-- Only the fields no rule in force lists are decoded: none at all but while rules change.
if keepSince and #unlisted > 0 then
  stale = {}
  for i = 1, #unlisted, CHUNK do
    local part = redis.call('HMGET', KEYS[1], unpack(unlisted, i, math.min(i + CHUNK - 1, #unlisted)))
    for k = 1, #part do
      local ok, value = pcall(cjson.decode, part[k])
      local asOf = ok and type(value) == 'table' and value.asOfMs
      -- (not >=: a NaN is deleted too)
      if type(asOf) ~= 'number' or not (asOf >= keepSince) then stale[#stale + 1] = unlisted[i + k - 1] end
    end
  end
end
for i = 1, #stale, CHUNK do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + CHUNK - 1, #stale)))
end
local values = {}
for i = 2, #ARGV, CHUNK do
  local part = redis.call('HMGET', KEYS[1], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
  for _, v in ipairs(part) do values[#values + 1] = v end
end
return values
