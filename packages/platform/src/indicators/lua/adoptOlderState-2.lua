--[[
  Gives a namespace holding indicator state written before born times existed born time 0, if its
  adoption check (the indicator store's adoptOlderState) saw no loss.

  KEYS[1]  the namespace's born time
  KEYS[2]  the key of one adoption check (adoptOlderState; in KEYS[1]'s slot)
  ARGV[1]  the born time's TTL (ms)

  Deletes KEYS[2] and, if it was there and no born time is, sets the born time to 0; returns 1 when it
  did, else 0 (the check's key gone: the data went since it was set; or a born time set meanwhile, which
  stays).
]]
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '0', 'PX', ARGV[1])
return 1
