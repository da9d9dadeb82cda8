--[[
  Marks indicator keys dirty (redisDirtyKeys' mark, dirty-keys.ts): their updates held back by the
  publish throttle, for whoever publishes them if the member that held them back cannot.

  KEYS[1]  the sorted set of marks: indicator key -> stamp
  KEYS[2]  the hash of entry times: indicator key -> the newest entry time (ms) its mark holds back
  KEYS[3]  the hash of traces: indicator key -> its trace
  ARGV[1]  their TTL (ms)
  then key, entry time, trace triples (an empty time or trace: none; a trace is its headline's entry
  time, empty for none, a space and its traceparent)

  A key still marked keeps the newer entry time, and the newer trace by its entry time (the one given on
  a tie). Returns each key's stamp.

  Stamps are Redis's clock in µs (TIME: one clock for every member, whatever their hosts' clocks say),
  strictly increasing per key, passed as '%.0f' strings: Lua's tostring keeps only 14 digits, and they
  have 16.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function at(trace)
  local ms = string.match(trace, '^(%S*) ')
  return (ms and tonumber(ms)) or -math.huge
end
local out = {}
for i = 2, #ARGV, 3 do
  local k = ARGV[i]
  local s = now
  local old = redis.call('ZSCORE', KEYS[1], k)
  if old and tonumber(old) >= s then s = tonumber(old) + 1 end
  local stamp = string.format('%.0f', s)
  redis.call('ZADD', KEYS[1], stamp, k)
  out[#out + 1] = stamp
  local e = ARGV[i + 1]
  if old then
    local kept = redis.call('HGET', KEYS[2], k)
    if kept and (e == '' or tonumber(kept) > tonumber(e)) then e = kept end
  end
  if e == '' then redis.call('HDEL', KEYS[2], k) else redis.call('HSET', KEYS[2], k, e) end
  local t = ARGV[i + 2]
  if old then
    local kept = redis.call('HGET', KEYS[3], k)
    if kept and (t == '' or at(kept) > at(t)) then t = kept end
  end
  if t == '' then redis.call('HDEL', KEYS[3], k) else redis.call('HSET', KEYS[3], k, t) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
return out
