--[[
  Decides whether one alert goes out, atomically: deduplication by alert id, then the cooldown of its
  stream (rule × dimension × scope × direction) in event time, so a replay decides exactly as the live
  run did. All three keys carry the stream as hash tag: one slot on Redis Cluster.

  KEYS[1]  old cooldown key of the stream: "<eventMs>|<alertId>" of the newest alert claimed on it. The
           only cooldown state of the previous version, which compared an alert with that one alone: an
           alert arriving late (after a newer one) passed a cooldown away from the newest though it came
           minutes after an older one already sent. Still read (a stream whose state exists only here
           counts that alert as fired, and it is copied into KEYS[3] before this key moves on) and still
           written as before, so a previous version running beside this one (a rolling deploy, a
           rollback) decides as it did. Lasts the dedup window (at least the cooldown).
  KEYS[2]  dedup key of this alert id: "p|<origin>" claimed by that input record and being published,
           "s|<origin>" sent (published and acknowledged) for that input record ("s" alone: written by an
           earlier version), "c|<ms>" held back by the cooldown of the stream's alert
           at <ms> ("c" alone: written by an earlier version). Every decision sticks to the id for the dedup
           window, so a replay, even one that comes after newer events, decides again exactly as the first
           pass did; but another event of a held-back id (its time bucket is as long as the cooldown) that
           falls past the cooldown of the alert that held the id back is decided afresh, so an alert is
           never held back longer than the cooldown.
  KEYS[3]  fired set of the stream: sorted set of the alerts claimed on it (fired), score = event time,
           member "<eventMs>|<alertId>". An alert is held back if any of them lies within the cooldown on
           either side, which the nearest one on each side decides. Bounded: with keep = the dedup window
           (at least the cooldown), an alert at most keep older than the newest fired one is decided
           against every fired alert that can hold it back, so a fire drops those more than keep + the
           cooldown older than the newest (an alert older still is decided against what is kept). The
           fired times kept are a cooldown apart at least, so at most (keep + cooldown) / cooldown + 1 of
           them. Lasts keep from the last fire on the stream.
  ARGV[1]  alert id
  ARGV[2]  the alert's event time, ms (headline publishedAt or indicator asOf)
  ARGV[3]  the rule's cooldown, ms (0: no cooldown, every alert id stands alone)
  ARGV[4]  how long the dedup mark lasts, ms (the dedup window, at least the cooldown)
  ARGV[5]  origin of the claiming input record: "<topic>/<partition>/<offset>"
  ARGV[6]  "1": resend only (an alert held in the record's outbox entry and not raised by this attempt's
           own evaluation): answered as below when the id is decided already, but an id this record has
           not claimed (no mark: the attempt that held it failed between the entry and the claim) is not
           claimed now: 4. Absent or anything else: claim (version 2 took five arguments).

  Returns  1  claimed now: publish
           2  claimed before by this same record but never confirmed sent (a crash or a fault between
              claim and confirmation, and this is the redelivery): publish again
           3  already sent for this same record (a redelivery after the sent mark was written, the
              hysteresis state of the alerter's commit perhaps not): skip, but the alert went out for it
           0  already sent for another record, or claimed by another record that is publishing it now: skip
          -1  another alert of the stream within the cooldown (event time), now or when first decided: suppress
           4  resend only, and this record holds no claim of the id: nothing written, nothing to send
]]
local eventMs = tonumber(ARGV[2])
local cooldownMs = tonumber(ARGV[3])
local resendOnly = ARGV[6] == '1'
local mark = redis.call('GET', KEYS[2])
if mark == 's' then return 0 end
if mark and string.sub(mark, 1, 2) == 's|' then
  if mark == 's|' .. ARGV[5] then return 3 end
  return 0
end
if mark and string.sub(mark, 1, 1) == 'c' then
  local heldBy = tonumber(string.sub(mark, 3))
  if not heldBy or math.abs(eventMs - heldBy) < cooldownMs then return -1 end
  mark = nil -- past the cooldown of the alert that held the id back: decided afresh below
end
if mark then
  if mark == 'p|' .. ARGV[5] then return 2 end
  return 0
end
if resendOnly then return 4 end

-- The event time of a member "<eventMs>|<alertId>" (the old key's value has the same form), as written.
local function timeOf(member)
  local bar = string.find(member, '|', 1, true)
  return bar and string.sub(member, 1, bar - 1) or member
end

if cooldownMs > 0 then
  local keep = math.max(cooldownMs, tonumber(ARGV[4]))
  local keepArg = string.format('%.0f', keep)
  local last = redis.call('GET', KEYS[1])
  local lastMs = last and tonumber(timeOf(last))
  -- The nearest fired alert at or before the event, and the nearest after it.
  local before = redis.call('ZREVRANGEBYSCORE', KEYS[3], ARGV[2], '-inf', 'LIMIT', 0, 1)[1]
  local after = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[2], '+inf', 'LIMIT', 0, 1)[1]
  local beforeAt = before and timeOf(before)
  local afterAt = after and timeOf(after)
  if lastMs then
    if lastMs <= eventMs then
      if not beforeAt or lastMs > tonumber(beforeAt) then beforeAt = timeOf(last) end
    elseif not afterAt or lastMs < tonumber(afterAt) then
      afterAt = timeOf(last)
    end
  end
  -- Held back by the nearer of the two within the cooldown (the earlier one if both are as near).
  local heldBy
  if beforeAt and eventMs - tonumber(beforeAt) < cooldownMs then heldBy = beforeAt end
  if afterAt and tonumber(afterAt) - eventMs < cooldownMs then
    if not heldBy or tonumber(afterAt) - eventMs < eventMs - tonumber(beforeAt) then heldBy = afterAt end
  end
  if heldBy then
    redis.call('SET', KEYS[2], 'c|' .. heldBy, 'PX', ARGV[4])
    return -1
  end
  -- Fired: the old key's alert joins the set (a stream whose state was only there) before it moves on.
  if lastMs then redis.call('ZADD', KEYS[3], timeOf(last), last) end
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2] .. '|' .. ARGV[1])
  local newest = tonumber(redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', newest - keep - cooldownMs))
  redis.call('PEXPIRE', KEYS[3], keepArg)
  if not lastMs or eventMs > lastMs then
    redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[1], 'PX', keepArg)
  end
end
redis.call('SET', KEYS[2], 'p|' .. ARGV[5], 'PX', ARGV[4])
return 1
