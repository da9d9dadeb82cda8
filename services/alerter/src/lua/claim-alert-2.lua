--[[
  Decides whether one alert goes out, atomically: deduplication by alert id, then the cooldown of its
  stream (rule × dimension × scope × direction) in event time, so a replay decides exactly as the live
  run did. Both keys carry the stream as hash tag: one slot on Redis Cluster.

  KEYS[1]  cooldown key of the stream: "<eventMs>|<alertId>" of the last alert claimed on it; it lasts the
           dedup window (at least the cooldown), as the cooldown is kept in event time, not arrival time
  KEYS[2]  dedup key of this alert id: "p|<origin>" claimed by that input record and being published,
           "s|<origin>" sent (published and acknowledged) for that input record ("s" alone: written by an
           earlier version), "c|<ms>" held back by the cooldown of the stream's alert
           at <ms> ("c" alone: written by an earlier version). Every decision sticks to the id for the dedup
           window, so a replay, even one that comes after newer events, decides again exactly as the first
           pass did; but another event of a held-back id (its time bucket is as long as the cooldown) that
           falls past the cooldown of the alert that held the id back is decided afresh, so an alert is
           never held back longer than the cooldown.
  ARGV[1]  alert id
  ARGV[2]  the alert's event time, ms (headline publishedAt or indicator asOf)
  ARGV[3]  the rule's cooldown, ms (0: no cooldown, every alert id stands alone)
  ARGV[4]  how long the dedup mark lasts, ms
  ARGV[5]  origin of the claiming input record: "<topic>/<partition>/<offset>"

  Returns  1  claimed now: publish
           2  claimed before by this same record but never confirmed sent (a crash or a fault between
              claim and confirmation, and this is the redelivery): publish again
           3  already sent for this same record (a redelivery after the sent mark was written, the
              hysteresis state of the alerter's commit perhaps not): skip, but the alert went out for it
           0  already sent for another record, or claimed by another record that is publishing it now: skip
          -1  another alert of the stream within the cooldown (event time), now or when first decided: suppress
]]
local eventMs = tonumber(ARGV[2])
local cooldownMs = tonumber(ARGV[3])
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

if cooldownMs > 0 then
  local keep = math.max(cooldownMs, tonumber(ARGV[4]))
  local last = redis.call('GET', KEYS[1])
  if last then
    local bar = string.find(last, '|', 1, true)
    local lastMs = tonumber(string.sub(last, 1, bar - 1))
    if math.abs(eventMs - lastMs) < cooldownMs then
      redis.call('SET', KEYS[2], 'c|' .. string.sub(last, 1, bar - 1), 'PX', ARGV[4])
      return -1
    end
    -- Keep the newest event on the stream; an older alert outside the cooldown passes but moves nothing.
    if eventMs > lastMs then
      redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[1], 'PX', keep)
    end
  else
    redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[1], 'PX', keep)
  end
end
redis.call('SET', KEYS[2], 'p|' .. ARGV[5], 'PX', ARGV[4])
return 1
