--[[
  Writes the hysteresis entries one evaluation moved on one indicator (the alerter's commit), never over
  an entry about a newer update. Every value (a line's entry, or "@reading") carries the event time of the
  update that wrote it (asOfMs) and, since it was kept, the headlines behind it (count); an evaluation
  never moves an entry with an older update (stepHysteresis: older = an earlier asOf, or the same asOf
  behind fewer headlines), so the hash only ever moves forward in event time, except when a write lands
  late. ioredis sends a command again on its next connection when its reply never came (a connection
  lost after Redis ran it, or one that timed out and is still unanswered), however long that connection
  takes to come back; by then the indicator's partition may have moved to another alerter that wrote
  newer entries. A plain HSET of the old write then put the line back as it was before them: disarmed
  after it re-armed (the next crossing lost), or armed after it fired (the same episode paged again).

  KEYS[1]  the indicator's hysteresis hash
  ARGV[1]  its TTL, ms (set when anything is written)
  ARGV[2..] field, value pairs: value = the entry as JSON, or "" to delete the field (an entry under its
           old name, once its line wrote its own)

  A value is not written when the hash holds a value of that field about a newer update: asOfMs greater,
  or the same asOfMs with a count greater than the value's own (both counts given). A stored value that
  is no JSON object with a numeric asOfMs is overwritten.

  Returns  the number of fields left as they were because they held a newer value
]]
local function stamp(raw)
  local ok, value = pcall(cjson.decode, raw)
  if not ok or type(value) ~= 'table' or type(value.asOfMs) ~= 'number' then return nil end
  return value.asOfMs, (type(value.count) == 'number') and value.count or nil
end

local kept = 0
local sets = {}
local dels = {}
for i = 2, #ARGV, 2 do
  local field, raw = ARGV[i], ARGV[i + 1]
  if raw == '' then
    dels[#dels + 1] = field
  else
    local newer = false
    local stored = redis.call('HGET', KEYS[1], field)
    if stored then
      local storedAt, storedCount = stamp(stored)
      local at, count = stamp(raw)
      if storedAt and at then
        newer = storedAt > at or (storedAt == at and storedCount ~= nil and count ~= nil and storedCount > count)
      end
    end
    if newer then
      kept = kept + 1
    else
      sets[#sets + 1] = field
      sets[#sets + 1] = raw
    end
  end
end
-- At most this many values at once through unpack (Lua's C stack holds about 8000).
local CHUNK = 1000
for i = 1, #dels, CHUNK do
  redis.call('HDEL', KEYS[1], unpack(dels, i, math.min(i + CHUNK - 1, #dels)))
end
for i = 1, #sets, CHUNK do
  redis.call('HSET', KEYS[1], unpack(sets, i, math.min(i + CHUNK - 1, #sets)))
end
if #sets > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return kept
