--[[
  Clears dirty marks (redisDirtyKeys' clear, dirty-keys.ts): each mark still at the stamp given is
  deleted, with its entry time and trace; a key marked again since keeps its newer mark.

  KEYS[1]  the sorted set of marks
  KEYS[2]  the hash of entry times
  KEYS[3]  the hash of traces
  ARGV     key, stamp pairs

  Returns how many marks it deleted.
]]
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    n = n + 1
  end
end
return n
