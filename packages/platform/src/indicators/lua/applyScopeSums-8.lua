--[[
  The fast path of applyScope-8.lua: one scope's contributions from one or more event-time runs,
  already summed per dimension by the caller (redis-indicator-store.ts, scopeSums), applied in one
  call. Same keys, same fields, same result as applying the runs one by one through applyScope-8.lua,
  provided nothing is a duplicate, nothing is late and no stored field it reads is damaged (the ref, or
  another field holding a value no apply could have written, as applyScope-8.lua judges them). The
  script checks all three first and, if any holds, writes nothing and returns { -1 }: the caller then
  sends the runs through applyScope-8.lua, which applies them contribution by contribution (and repairs
  and reports a damaged field, which this script has no way to report).

  Why it is exact. The caller cuts runs so that within them nothing is late and no id repeats (it
  sends the scope the slow way otherwise). Against the stored state a contribution at t is late only if
  t < ref − grace, and ref only grows, so checking the earliest contribution against the stored ref
  decides for all of them. The decayed sums are kept against a reference time, so
  Σ w·2^(−(ref−t)/h) = 2^(−(ref−tmax)/h) · Σ w·2^(−(tmax−t)/h): the caller sends the sums against its
  newest event tmax, the script moves them to the new ref. Bucket counts add. Buckets are trimmed after
  writing, against the new ref's coarse edge, which leaves what trimming at each run's edge would.

  KEYS        as applyScope-8.lua: for d = 1..4 (tariff, supplyChain, market, uncertainty), the
              state hash then the applied-ids sorted set
  ARGV[1..10+H] the header of applyScope-8.lua (now, grace, dedup retention, ttl, fine ms, fine
              retention, coarse ms, coarse retention, ref limit, H, half-lives)
  ARGV[11+H]  the contributions as JSON (one argument, decoded by cjson in C: far cheaper on both
              sides than hundreds of arguments):
              [ [t1, id1, t2, id2, ...],  the distinct headlines: event ms and id digest
                D1, D2, D3, D4 ]          per dimension (tariff, supplyChain, market, uncertainty):
                                          0 when absent, else { n = contributions,
                                          p = their headline positions (1-based; absent when n = I),
                                          lo, hi = earliest and newest event ms,
                                          w, x = H sums Σw·2^(−(hi−t)/h_j) and Σw·x·2^(−(hi−t)/h_j),
                                          f = [fine bucket, headlines, positive, negative, ...],
                                          c = [coarse bucket, headlines, ...] }

  Returns     { applied, 0, 0 } or { -1 } (nothing written: send the contributions the slow way)
  Errors      "TPIND_BAD_ARGS <what>", before anything is written
]]

local function num(s)
  local x = tonumber(s)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x
end

local nowMs = num(ARGV[1])
local graceMs = num(ARGV[2])
local dedupMs = num(ARGV[3])
local ttlMs = num(ARGV[4])
local fineMs = num(ARGV[5])
local fineRetMs = num(ARGV[6])
local coarseMs = num(ARGV[7])
local coarseRetMs = num(ARGV[8])
local refLimit = num(ARGV[9])
local h = num(ARGV[10])
if not (nowMs and graceMs and dedupMs and ttlMs and fineMs and fineRetMs and coarseMs and coarseRetMs and refLimit and h) then
  return redis.error_reply('TPIND_BAD_ARGS header')
end
local halfLives = {}
for j = 1, h do
  halfLives[j] = num(ARGV[10 + j])
  if not halfLives[j] then return redis.error_reply('TPIND_BAD_ARGS half-life') end
end

local CHUNK = 1000
local floor = math.floor
local HUGE = math.huge

if #ARGV ~= 11 + h then return redis.error_reply('TPIND_BAD_ARGS length') end
local ok, payload = pcall(cjson.decode, ARGV[11 + h])
if not ok or type(payload) ~= 'table' or type(payload[1]) ~= 'table' then
  return redis.error_reply('TPIND_BAD_ARGS payload')
end
local flatIds = payload[1]
local nIds = #flatIds / 2
if nIds < 1 or nIds ~= floor(nIds) then return redis.error_reply('TPIND_BAD_ARGS ids') end
local idTimes, idNames = {}, {}
for i = 1, nIds do
  idTimes[i] = num(flatIds[2 * i - 1])
  idNames[i] = flatIds[2 * i]
  if not idTimes[i] or type(idNames[i]) ~= 'string' then return redis.error_reply('TPIND_BAD_ARGS ids') end
end

-- Parse every dimension before touching anything.
local function isNumbers(list, size)
  if type(list) ~= 'table' or #list ~= size then return false end
  for i = 1, size do
    if not num(list[i]) then return false end
  end
  return true
end
local dims = {}
for d = 1, 4 do
  local p = payload[d + 1]
  if type(p) == 'table' then
    local dim = {
      n = tonumber(p.n), positions = nil, tmin = num(p.lo), tmax = num(p.hi), sumW = p.w, sumX = p.x,
      fine = {}, coarse = {},
    }
    if not dim.n or dim.n < 1 or dim.n > nIds or not (dim.tmin and dim.tmax) then
      return redis.error_reply('TPIND_BAD_ARGS dimension')
    end
    if not (isNumbers(dim.sumW, h) and isNumbers(dim.sumX, h)) then return redis.error_reply('TPIND_BAD_ARGS sums') end
    if dim.n < nIds then
      if not isNumbers(p.p, dim.n) then return redis.error_reply('TPIND_BAD_ARGS position') end
      for i = 1, dim.n do
        if p.p[i] < 1 or p.p[i] > nIds then return redis.error_reply('TPIND_BAD_ARGS position') end
      end
      dim.positions = p.p
    end
    local f, c = p.f, p.c
    if type(f) ~= 'table' or #f % 4 ~= 0 or not isNumbers(f, #f) then return redis.error_reply('TPIND_BAD_ARGS fine') end
    if type(c) ~= 'table' or #c % 2 ~= 0 or not isNumbers(c, #c) then return redis.error_reply('TPIND_BAD_ARGS coarse') end
    for i = 1, #f / 4 do dim.fine[i] = { f[4 * i - 3], f[4 * i - 2], f[4 * i - 1], f[4 * i] } end
    for i = 1, #c / 2 do dim.coarse[i] = { c[2 * i - 1], c[2 * i] } end
    dims[d] = dim
  elseif p ~= 0 then
    return redis.error_reply('TPIND_BAD_ARGS dimension')
  end
end

-- Checks: no id known to its indicator, no damaged ref or other damaged field (as applyScope-8.lua
-- judges them), nothing late against the stored ref. Reads kept for the writes.
local reads = {}
for d = 1, 4 do
  local dim = dims[d]
  if dim then
    local stateKey, idsKey = KEYS[2 * d - 1], KEYS[2 * d]
    local names = idNames
    if dim.positions then
      names = {}
      for i = 1, dim.n do names[i] = idNames[dim.positions[i]] end
    end
    -- Each dimension its own ids set (uncertainty's too: see indicator-keys.ts), looked up on its own.
    for from = 1, dim.n, CHUNK do
      local scores = redis.call('ZMSCORE', idsKey, unpack(names, from, math.min(from + CHUNK - 1, dim.n)))
      for k = 1, #scores do
        if scores[k] then return { -1 } end
      end
    end
    local fields = { 'ref', 'cnt' }
    for j = 1, h do
      fields[#fields + 1] = 'w' .. j
      fields[#fields + 1] = 'x' .. j
    end
    for _, b in ipairs(dim.fine) do
      fields[#fields + 1] = 'n' .. b[1]
      fields[#fields + 1] = 'p' .. b[1]
      fields[#fields + 1] = 'm' .. b[1]
    end
    for _, b in ipairs(dim.coarse) do fields[#fields + 1] = 'c' .. b[1] end
    -- Read only to be checked (this script never writes it): last, so the others' positions stay put.
    fields[#fields + 1] = 'late'
    local cur = {}
    for from = 1, #fields, CHUNK do
      local part = redis.call('HMGET', stateKey, unpack(fields, from, math.min(from + CHUNK - 1, #fields)))
      for k = 1, #part do cur[from + k - 1] = part[k] end
    end
    local oldRef = nil
    if cur[1] then
      oldRef = num(cur[1])
      if not oldRef or (oldRef > refLimit and oldRef > dim.tmax) then return { -1 } end
    end
    if oldRef and dim.tmin < oldRef - graceMs then return { -1 } end
    -- As applyScope-8.lua's stored() judges them, by position rather than by name (no string made per field): cnt, then
    -- w<j> and x<j> alternating, then the buckets and late, counts all. Each is kept as its number for
    -- the writes.
    local lastSum = 2 + 2 * h
    for k = 2, #fields do
      local s = cur[k]
      if s then
        local x = tonumber(s)
        if x == nil or x ~= x or x == HUGE or x == -HUGE then return { -1 } end
        if k > 2 and k <= lastSum then
          if k % 2 == 1 and x < 0 then return { -1 } end -- w<j>: a weight sum, >= 0
        elseif x < 0 or x ~= floor(x) then
          return { -1 } -- a count: whole, >= 0
        end
        cur[k] = x
      end
    end
    reads[d] = { fields = fields, cur = cur, oldRef = oldRef, names = names }
  end
end

local function fmt(x) return string.format('%.17g', x) end

local applied = 0
for d = 1, 4 do
  local dim = dims[d]
  if dim then
    local stateKey, idsKey = KEYS[2 * d - 1], KEYS[2 * d]
    local r = reads[d]
    local cur, fields, oldRef = r.cur, r.fields, r.oldRef
    local newRef = dim.tmax
    if oldRef and oldRef > newRef then newRef = oldRef end
    local hset = { 'ref', fmt(newRef), 'cnt', fmt((tonumber(cur[2]) or 0) + dim.n), 'upd', fmt(nowMs) }
    for j = 1, h do
      local decay = 1
      if oldRef and newRef > oldRef then decay = 2 ^ (-(newRef - oldRef) / halfLives[j]) end
      local move = 1
      if newRef > dim.tmax then move = 2 ^ (-(newRef - dim.tmax) / halfLives[j]) end
      hset[#hset + 1] = 'w' .. j
      hset[#hset + 1] = fmt((tonumber(cur[1 + 2 * j]) or 0) * decay + dim.sumW[j] * move)
      hset[#hset + 1] = 'x' .. j
      hset[#hset + 1] = fmt((tonumber(cur[2 + 2 * j]) or 0) * decay + dim.sumX[j] * move)
    end
    -- fields and cur share positions: after ref, cnt and the sums come the buckets, in order.
    local slot = 3 + 2 * h
    for _, b in ipairs(dim.fine) do
      local adds = { b[2], b[3], b[4] }
      for k = 1, 3 do
        if adds[k] > 0 then
          hset[#hset + 1] = fields[slot]
          hset[#hset + 1] = fmt((tonumber(cur[slot]) or 0) + adds[k])
        end
        slot = slot + 1
      end
    end
    for _, b in ipairs(dim.coarse) do
      hset[#hset + 1] = fields[slot]
      hset[#hset + 1] = fmt((tonumber(cur[slot]) or 0) + b[2])
      slot = slot + 1
    end
    for from = 1, #hset, CHUNK * 2 do
      redis.call('HSET', stateKey, unpack(hset, from, math.min(from + CHUNK * 2 - 1, #hset)))
    end

    -- Trim as applyScope-8.lua does, after the writes: a run's old buckets that a later run's edge
    -- would have trimmed go too.
    if oldRef and floor(newRef / coarseMs) > floor(oldRef / coarseMs) then
      local edge = floor(newRef / coarseMs) * coarseMs
      local fineLow = floor((edge - fineRetMs) / fineMs)
      local coarseLow = floor((edge - coarseRetMs) / coarseMs)
      local del = {}
      for _, f in ipairs(redis.call('HKEYS', stateKey)) do
        local head = string.sub(f, 1, 1)
        local low = nil
        if head == 'n' or head == 'p' or head == 'm' then low = fineLow elseif head == 'c' then low = coarseLow end
        if low then
          local idx = tonumber(string.sub(f, 2))
          if idx and idx < low then
            del[#del + 1] = f
            if #del >= CHUNK then
              redis.call('HDEL', stateKey, unpack(del))
              del = {}
            end
          end
        end
      end
      if #del > 0 then redis.call('HDEL', stateKey, unpack(del)) end
    end

    local zadd = {}
    for i = 1, dim.n do
      local p = i
      if dim.positions then p = dim.positions[i] end
      zadd[#zadd + 1] = idTimes[p]
      zadd[#zadd + 1] = idNames[p]
    end
    for from = 1, #zadd, CHUNK * 2 do
      redis.call('ZADD', idsKey, unpack(zadd, from, math.min(from + CHUNK * 2 - 1, #zadd)))
    end
    if oldRef == nil or newRef > oldRef then
      redis.call('ZREMRANGEBYSCORE', idsKey, '-inf', '(' .. fmt(newRef - dedupMs))
    end
    redis.call('PEXPIRE', stateKey, ttlMs)
    redis.call('PEXPIRE', idsKey, ttlMs)
    applied = applied + dim.n
  end
end
return { applied, 0, 0 }
