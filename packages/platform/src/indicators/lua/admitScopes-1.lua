--[[
  Admits the scopes of one kind that a batch mentions into that kind's registry, up to a cap; the
  rest fold into the "other" scope. Entries not seen within the retention (by event time) leave first.
  Mirrors admitScopes in packages/indicators/src/scope-cap.ts.

  KEYS[1]  registry      <prefix>:<ns>:scopes:{<kind>}, sorted set: scope id -> newest event ms

  ARGV[1]  cap: most scope ids of this kind, not counting "other"
  ARGV[2]  retention ms: ids older than (newest event ms in the registry − this) are removed
  ARGV[3]  ttl ms of the registry
  ARGV[4]  the id of the folded scope ("other"): always admitted, never counted
  ARGV[5]  the newest event ms an entry may hold (the store's refLimit: its clock plus maxRefAheadMs, the
           largest double when it sets none). An entry scored past it (Redis edited by hand or damaged:
           1e15, the year 9999; or written before the bound) is damaged: removed first, and its scope
           admitted again like any other. Left, it was the registry's newest: every call removed every
           other entry as older than the retention, so every other scope was folded away or admitted
           anew each batch and left out of the top rankings, and the damaged entry, its TTL renewed by
           each call, never went. A candidate's time past it counts as the bound.
  then 2 per candidate, most mentioned first: scope id, newest event ms in the batch

  Returns  { a1, a2, ... }  one per candidate: 1 admitted, 0 over the cap (fold into "other")
  Errors   "TPIND_BAD_ARGS <what>" when the arguments are malformed
]]
local key = KEYS[1]
local cap, retentionMs, ttlMs, other = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local refLimit = tonumber(ARGV[5])
if not (cap and retentionMs and ttlMs and other and refLimit) or refLimit ~= refLimit or (#ARGV - 5) % 2 ~= 0 then
  return redis.error_reply('TPIND_BAD_ARGS header')
end
local limit = string.format('%.17g', refLimit)

-- Damaged entries (past the bound; a score is never nan) go before anything is read.
redis.call('ZREMRANGEBYSCORE', key, '(' .. limit, '+inf')
local newest = nil
local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if top[2] then newest = tonumber(top[2]) end
local times = {}
for i = 6, #ARGV, 2 do
  local t = tonumber(ARGV[i + 1])
  if not t or t ~= t then return redis.error_reply('TPIND_BAD_ARGS event time') end
  if t > refLimit then t = refLimit end
  times[i] = t
  if newest == nil or t > newest then newest = t end
end
if newest == nil then return {} end
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%.17g', newest - retentionMs))

local count = redis.call('ZCARD', key)
if redis.call('ZSCORE', key, other) then count = count - 1 end
local result = {}
for i = 6, #ARGV, 2 do
  local id = ARGV[i]
  local known = redis.call('ZSCORE', key, id)
  if known or id == other or count < cap then
    if not known and id ~= other then count = count + 1 end
    -- GT: a score only moves forward; a new member is still added.
    redis.call('ZADD', key, 'GT', string.format('%.17g', times[i]), id)
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
redis.call('PEXPIRE', key, ttlMs)
return result
