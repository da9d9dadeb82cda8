--[[
  Takes over stale dirty marks (redisDirtyKeys' claimStale, dirty-keys.ts), restamping them now: theirs
  until that old again.

  KEYS[1]  the sorted set of marks
  KEYS[2]  the hash of entry times
  KEYS[3]  the hash of traces
  KEYS[4]  the claim's own key (by its token)
  ARGV[1]  the age (ms)
  ARGV[2]  the limit

  Returns {stamp, keys taken, their entry times, their traces (false for none)}. Marks stamped more than
  AHEAD_US (dirty-keys.ts: 1000000 µs, written out below) ahead of the clock are taken too, after the old
  ones.

  A claim run again with its token answers the marks its first run took that are still at its stamp (none
  marked again since), as that run did: ioredis sends a call its closed connection left unanswered again
  on the next one, and a claim whose call failed (a reply timed out) is made again with its token. Run
  anew, the claim would find those marks young (its own first run restamped them) and answer none: they
  went unpublished until old again, another AGGREGATOR_PUBLISH_RECOVER_MS. The token is kept as long as
  the marks stay the claim's (the age): past it they are anyone's to take again.

  Stamps are Redis's clock in µs (TIME), passed as '%.0f' strings: Lua's tostring keeps only 14 digits,
  and they have 16.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stale
local stamp = redis.call('GET', KEYS[4])
if stamp then
  stale = redis.call('ZRANGEBYSCORE', KEYS[1], stamp, stamp, 'LIMIT', 0, ARGV[2])
else
  local before = string.format('%.0f', now - tonumber(ARGV[1]) * 1000)
  stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', before, 'LIMIT', 0, ARGV[2])
  local room = tonumber(ARGV[2]) - #stale
  if room > 0 then
    local ahead = string.format('(%.0f', now + 1000000)
    for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ahead, '+inf', 'LIMIT', 0, room)) do
      stale[#stale + 1] = k
    end
  end
  stamp = string.format('%.0f', now)
  for _, k in ipairs(stale) do redis.call('ZADD', KEYS[1], stamp, k) end
  if #stale > 0 then
    redis.call('SET', KEYS[4], stamp, 'PX', string.format('%d', math.max(1, math.ceil(tonumber(ARGV[1])))))
  end
end
local entered = {}
local traces = {}
if #stale > 0 then
  entered = redis.call('HMGET', KEYS[2], unpack(stale))
  traces = redis.call('HMGET', KEYS[3], unpack(stale))
end
return {stamp, stale, entered, traces}
