--[[
  Undoes the claim of one alert that Kafka refused for good (too large, an invalid record): none of its
  records was written, and none ever can be, so its claim must not hold its id, nor its stream cooling
  down around an alert that never went out. Only a claim this record still holds unconfirmed ("p|<origin>")
  is undone: a claim of another record, or one marked sent, is left alone. The keys are those of
  claim-alert-3.lua (the stream as hash tag: one slot on Redis Cluster).

  KEYS[1]  old cooldown key of the stream ("<eventMs>|<alertId>" of the newest alert claimed on it): when
           it names this alert, it goes back to the newest fired alert left in KEYS[3] (its TTL kept), or
           is deleted when none is left, so a previous version beside this one no longer counts the alert
  KEYS[2]  dedup key of this alert id: deleted, so the id is free (a replay of the record, once the topic
           takes the alert, claims and sends it)
  KEYS[3]  fired set of the stream: the alert's member "<eventMs>|<alertId>" removed. What its fire trimmed
           (times more than the dedup window and a cooldown older than it) is not put back: that only
           matters to a replay older than the dedup window, which decides afresh anyway.
  ARGV[1]  alert id
  ARGV[2]  the alert's event time, ms, as the claim passed it
  ARGV[3]  origin of the input record that claimed it: "<topic>/<partition>/<offset>"

  Returns  1  released
           0  not this record's unconfirmed claim: nothing changed
]]
if redis.call('GET', KEYS[2]) ~= 'p|' .. ARGV[3] then return 0 end
redis.call('DEL', KEYS[2])
local member = ARGV[2] .. '|' .. ARGV[1]
redis.call('ZREM', KEYS[3], member)
if redis.call('GET', KEYS[1]) == member then
  local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0)[1]
  if newest then
    redis.call('SET', KEYS[1], newest, 'KEEPTTL')
  else
    redis.call('DEL', KEYS[1])
  end
end
return 1
