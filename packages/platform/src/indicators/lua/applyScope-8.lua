--[[
  Applies one batch of contributions to the indicators of one scope (up to four dimensions, each its
  own state hash and id set under the scope's hash tag): decayed sums against a moving reference time,
  event-time buckets, and the ids already applied (idempotency). Each dimension is applied exactly as
  applyContributions in packages/indicators/src/indicator-state.ts does, operation for operation; one
  call per scope rather than per indicator shares the call's fixed cost (dispatch, header, validation)
  across the scope's dimensions.

  KEYS[2d-1]  state hash   <prefix>:<ns>:ind:{<kind>:<id>}:<dimension d>, d = 1..4 in the order
                           tariff, supplyChain, market, uncertainty
             ref = newest applied event ms, cnt = applied, late = rejected as late, upd = wall ms
             w<j> / x<j> = Σ w·2^(−(ref−t)/h_j) and Σ w·x·2^(−(ref−t)/h_j), j = 1..H
             n<i> / p<i> / m<i> = headlines / positive / negative in fine bucket i = floor(t / fine ms)
             c<i> = headlines in coarse bucket i = floor(t / coarse ms)
  KEYS[2d]    applied ids  sorted set: headline id digest -> event ms (a late one: the reference time it
                           was judged late at, past its event by more than the grace, so its redelivery is
                           known as late: late again); each dimension its own set, uncertainty's
                           too (see indicator-keys.ts), so idempotence holds per indicator

  ARGV[1]  now, wall-clock ms (stored as upd)
  ARGV[2]  grace ms: a contribution older than (newest event ms − grace) is late
  ARGV[3]  dedup retention ms: ids older than (newest − this) are forgotten
  ARGV[4]  ttl ms, set on both keys of a dimension after a write
  ARGV[5]  fine bucket ms        ARGV[6]  fine retention ms
  ARGV[7]  coarse bucket ms      ARGV[8]  coarse retention ms
  ARGV[9]  the newest reference time a state may hold, ms (the store's clock plus its maxRefAheadMs;
           the largest double when it sets none): a stored ref past it and past the dimension's newest
           contribution, or one that is no finite number, is damaged (see below)
  ARGV[10] H, the number of half-lives; ARGV[11 .. 10+H] the half-lives in ms
  then for each dimension d = 1..4: its number of contributions c_d, then 5 per contribution:
           headline id (its digest, see compact-id.ts), event ms, value, weight, sign (-1 | 0 | 1)

  Returns  { applied, duplicates, late, lateAgain, r, d1, ref1, ..., dr, refr, f, e1, field1, held1,
           ..., ef, fieldf, heldf, i1, ..., a1, ..., u1, ... }  where r is the number of dimensions whose
           stored ref was damaged and reset, each by its position d (1..4) and the ref it held (at most 64
           characters); f the number of other fields found damaged and repaired (see below), each by its
           dimension's position e, its name and what it held (at most 64 characters); then the 1-based
           positions among all of this call's contributions, in argument order, of the late ones (late of
           them: i), the late again ones (lateAgain of them: a) and the duplicates (duplicates of them: u)

  A contribution whose id the applied-ids set holds is not applied: a duplicate when the id was applied
  (its score is its event ms), late again when it was judged late (its score, the reference time it was
  judged late at, is past the contribution's event ms), as is a second copy in the call of one applied or
  judged late in it. Nothing is written for either (the late count was raised the first time).

  A damaged ref (Redis edited by hand or damaged: 1e15, a time in the year 9999, 'inf') made every
  later contribution late until the key expired. It is taken as absent, as a field that reads as no
  number always was: the dimension's newest contribution becomes the reference time (written even when
  every contribution is a duplicate), the sums, buckets and counters are kept as they stand. Ids scored
  past the bound can only have been remembered at the damaged time (late ones, never applied): they are
  removed, or no trim would ever reach them.
  Every other field the call reads (cnt, late, the sums, and the bucket fields of its contributions that
  are not known duplicates) holding a value no apply could have written is damaged too: not a finite
  number (tonumber takes 'nan' and 'inf'), a counter (cnt, late, a bucket's) that is not a whole number
  >= 0, a weight sum (w<j>) below 0. Added to, it stayed so (nan + 1 is nan), every read withheld the
  indicator, and each apply refreshed its expiry. It is taken as absent (0), as a field that is no number
  at all always was: written back as 0 at once (before the trim, which may then remove it) and reported,
  and the call's writes add to 0.
  Errors   "TPIND_BAD_ARGS <what>" when the arguments are malformed (a caller bug: not retriable);
           every argument is checked before anything is written

  Commands per dimension present: ZMSCORE, HMGET (state and the touched bucket fields), HSET (the
  same; one more when a damaged field is repaired), ZADD, ZREMRANGEBYSCORE when the reference time
  moves, 2 PEXPIRE, and HKEYS + HDEL only when the reference time enters a new coarse bucket. Bucket counters are read and written with the state
  rather than by one HINCRBY each: the dispatch of a command from Lua costs more than the field itself.
]]

-- tonumber accepts "nan" and "inf"; neither may reach a sum or a sorted-set score.
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

-- unpack() is bounded by Lua's C stack (about 8000 values): variadic calls go in chunks.
local CHUNK = 1000
local floor = math.floor

-- A stored field's value, or nil when it holds none an apply could have written (see the header): a
-- counter (cnt, late, a bucket's n, p, m or c: the heads c, l, n, p, m) a whole number >= 0, a weight
-- sum (w<j>) a finite number >= 0, another sum (x<j>) a finite number. applyContributions in
-- packages/indicators/src/indicator-state.ts makes the same test (storedFieldOk).
local function stored(field, s)
  local x = tonumber(s)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end
  local head = string.sub(field, 1, 1)
  if head == 'x' then return x end
  if x < 0 then return nil end
  if head == 'w' or x == floor(x) then return x end
  return nil
end

-- Every group is checked before any is applied, so a malformed call writes nothing.
local DIMENSIONS = 4
local groups = {} -- { first = ARGV index of its first contribution, n = its count }
-- The parsed numbers, by the ARGV index of their contribution's first argument: parsed once.
local T, V, W, S = {}, {}, {}, {}
local at = 11 + h
for d = 1, DIMENSIONS do
  local count = tonumber(ARGV[at])
  if not count or count < 0 or count ~= floor(count) or at + count * 5 > #ARGV then
    return redis.error_reply('TPIND_BAD_ARGS contributions')
  end
  groups[d] = { first = at + 1, n = count }
  for i = 1, count do
    local base = at + 1 + (i - 1) * 5
    local t = num(ARGV[base + 1])
    if not t then return redis.error_reply('TPIND_BAD_ARGS event time') end
    local value, weight, sign = num(ARGV[base + 2]), num(ARGV[base + 3]), tonumber(ARGV[base + 4])
    if not (value and weight and sign) then return redis.error_reply('TPIND_BAD_ARGS contribution') end
    T[base], V[base], W[base], S[base] = t, value, weight, sign
  end
  at = at + 1 + count * 5
end
if at ~= #ARGV + 1 then return redis.error_reply('TPIND_BAD_ARGS contributions') end

local function fmt(x) return string.format('%.17g', x) end

-- Which of a group's ids its applied-ids set already holds (each dimension has its own set: a headline's
-- market contribution applied never makes its uncertainty one a duplicate). Looked up for every group
-- before any is applied, so that every read of the call comes before its first write.
local function knownIds(idsKey, first, n)
  local ids = {}
  for i = 1, n do ids[i] = ARGV[first + (i - 1) * 5] end
  local known = {}
  for from = 1, n, CHUNK do
    local to = math.min(from + CHUNK - 1, n)
    local scores = redis.call('ZMSCORE', idsKey, unpack(ids, from, to))
    for k = 1, to - from + 1 do known[from + k - 1] = scores[k] end
  end
  return known
end

-- One dimension's indicator. Returns applied, duplicates, late, lateAgain, the late, late again and
-- duplicate positions (1-based within the group), the stored ref when it was damaged and reset (nil when
-- it was whole), and each other field found damaged and repaired (name, then what it held).
local function applyOne(stateKey, idsKey, first, n, known)
  local ids, times = {}, {}
  local batchMax = nil
  for i = 1, n do
    local base = first + (i - 1) * 5
    ids[i] = ARGV[base]
    local t = T[base]
    times[i] = t
    if batchMax == nil or t > batchMax then batchMax = t end
  end

  -- Bucket fields of every contribution that is not a known duplicate, read with the state: a superset
  -- of those written (lateness needs the state's ref first), each name built once per bucket.
  local fields = { 'ref', 'cnt', 'late' }
  for j = 1, h do
    fields[#fields + 1] = 'w' .. j
    fields[#fields + 1] = 'x' .. j
  end
  local slot = {} -- field name -> its position in fields (and in the HMGET reply)
  local fineSeen, coarseSeen = {}, {}
  for i = 1, n do
    if not known[i] then
      local fi = floor(times[i] / fineMs)
      if not fineSeen[fi] then
        fineSeen[fi] = true
        for _, p in ipairs({ 'n', 'p', 'm' }) do
          local f = p .. fi
          fields[#fields + 1] = f
          slot[f] = #fields
        end
      end
      local ci = floor(times[i] / coarseMs)
      if not coarseSeen[ci] then
        coarseSeen[ci] = true
        local f = 'c' .. ci
        fields[#fields + 1] = f
        slot[f] = #fields
      end
    end
  end
  local cur = {}
  for from = 1, #fields, CHUNK do
    local part = redis.call('HMGET', stateKey, unpack(fields, from, math.min(from + CHUNK - 1, #fields)))
    for k = 1, #part do cur[from + k - 1] = part[k] end
  end
  -- A damaged ref (see the header) is taken as absent and reported. The batch's own events are
  -- plausible whatever the clock says: the caller bounded them already.
  local limit = refLimit
  if batchMax > limit then limit = batchMax end
  local oldRef, damaged = nil, nil
  if cur[1] then
    oldRef = num(cur[1])
    if not oldRef or oldRef > limit then
      damaged = string.sub(cur[1], 1, 64)
      oldRef = nil
    end
  end
  -- Every other field read, as a number: 0 when absent, and when damaged (see the header), which is
  -- written back as 0 now, before the trim below may remove it (as applyContributions repairs first).
  local val = {}
  local repaired, fixed = {}, {}
  for k = 2, #fields do
    local x = 0
    if cur[k] then
      x = stored(fields[k], cur[k])
      if not x then
        x = 0
        repaired[#repaired + 1] = fields[k]
        repaired[#repaired + 1] = '0'
        fixed[#fixed + 1] = fields[k]
        fixed[#fixed + 1] = string.sub(cur[k], 1, 64)
      end
    end
    val[k] = x
  end
  for from = 1, #repaired, CHUNK * 2 do
    redis.call('HSET', stateKey, unpack(repaired, from, math.min(from + CHUNK * 2 - 1, #repaired)))
  end
  local newRef = batchMax
  if oldRef and oldRef > newRef then newRef = oldRef end
  -- The batch counts as arriving at once: lateness is judged against its newest event too.
  local lateBefore = newRef - graceMs

  local addW, addX = {}, {}
  for j = 1, h do
    addW[j] = 0
    addX[j] = 0
  end
  -- Counters keyed by bucket number; field names are built once per bucket at the end, because
  -- number-to-string conversion per contribution was a third of the script's time.
  local fineN, fineP, fineM, coarseN = {}, {}, {}, {}
  -- What each id of the call came to ('late' or 'applied'), so a second copy is judged as the first was.
  local seen = {}
  local applied, duplicates, late, lateAgain = 0, 0, 0, 0
  local lateIdx, againIdx, dupIdx = {}, {}, {}
  local zadd = {}
  for i = 1, n do
    local id, t = ids[i], times[i]
    local prior = seen[id]
    -- Remembered at a time past its own event: judged late (isRememberedLate in indicator-state.ts).
    if known[i] then
      if tonumber(known[i]) > t then prior = 'late' else prior = 'applied' end
    end
    if prior == 'late' then
      lateAgain = lateAgain + 1
      againIdx[#againIdx + 1] = i
    elseif prior then
      duplicates = duplicates + 1
      dupIdx[#dupIdx + 1] = i
    elseif t < lateBefore then
      late = late + 1
      lateIdx[#lateIdx + 1] = i
      -- Remembered like an applied id, at the reference time (its own is past the cutoff already), so a
      -- redelivery within the dedup retention is known as late: late again, not counted late twice.
      seen[id] = 'late'
      zadd[#zadd + 1] = fmt(newRef)
      zadd[#zadd + 1] = id
    else
      local base = first + (i - 1) * 5
      local value, weight, sign = V[base], W[base], S[base]
      seen[id] = 'applied'
      applied = applied + 1
      for j = 1, h do
        local f = 2 ^ (-(newRef - t) / halfLives[j])
        addW[j] = addW[j] + weight * f
        addX[j] = addX[j] + weight * value * f
      end
      local fi = floor(t / fineMs)
      fineN[fi] = (fineN[fi] or 0) + 1
      if sign > 0 then fineP[fi] = (fineP[fi] or 0) + 1 elseif sign < 0 then fineM[fi] = (fineM[fi] or 0) + 1 end
      local ci = floor(t / coarseMs)
      coarseN[ci] = (coarseN[ci] or 0) + 1
      zadd[#zadd + 1] = ARGV[base + 1]
      zadd[#zadd + 1] = id
    end
  end

  -- After the ids were looked up, as applyContributions forgets them after judging the batch.
  if damaged then redis.call('ZREMRANGEBYSCORE', idsKey, '(' .. fmt(limit), '+inf') end

  if applied == 0 then
    if damaged then redis.call('HSET', stateKey, 'ref', fmt(newRef)) end
    if late > 0 then
      -- From the value read (HINCRBY refused a field that is not an integer's text, failing the call).
      redis.call('HSET', stateKey, 'late', fmt(val[3] + late))
      for from = 1, #zadd, CHUNK * 2 do
        redis.call('ZADD', idsKey, unpack(zadd, from, math.min(from + CHUNK * 2 - 1, #zadd)))
      end
      redis.call('PEXPIRE', idsKey, ttlMs)
    end
    return applied, duplicates, late, lateAgain, lateIdx, againIdx, dupIdx, damaged, fixed
  end

  local hset = { 'ref', fmt(newRef), 'cnt', fmt(val[2] + applied), 'upd', fmt(nowMs) }
  if late > 0 then
    hset[#hset + 1] = 'late'
    hset[#hset + 1] = fmt(val[3] + late)
  end
  for j = 1, h do
    local d = 1
    if oldRef and newRef > oldRef then d = 2 ^ (-(newRef - oldRef) / halfLives[j]) end
    hset[#hset + 1] = 'w' .. j
    hset[#hset + 1] = fmt(val[2 + 2 * j] * d + addW[j])
    hset[#hset + 1] = 'x' .. j
    hset[#hset + 1] = fmt(val[3 + 2 * j] * d + addX[j])
  end

  -- Buckets are trimmed when the reference time enters a new coarse bucket (an hour), against that
  -- edge: everything below (edge − retention) goes. The edge, not the reference time itself, keeps the
  -- kept set independent of arrival order; the existing fields come from HKEYS, so a trim costs what is
  -- stored, where walking every bucket index since the last trim named tens of empty buckets per write.
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
        local idx = tonumber(string.sub(f, 2)) -- nil for 'cnt'
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

  -- Counters: read above with the state, so one HSET writes them all.
  local function add(prefix, counts)
    for idx, count in pairs(counts) do
      local f = prefix .. idx
      hset[#hset + 1] = f
      hset[#hset + 1] = fmt(val[slot[f]] + count)
    end
  end
  add('n', fineN)
  add('p', fineP)
  add('m', fineM)
  add('c', coarseN)
  for from = 1, #hset, CHUNK * 2 do
    redis.call('HSET', stateKey, unpack(hset, from, math.min(from + CHUNK * 2 - 1, #hset)))
  end

  for from = 1, #zadd, CHUNK * 2 do
    redis.call('ZADD', idsKey, unpack(zadd, from, math.min(from + CHUNK * 2 - 1, #zadd)))
  end
  -- The cutoff only moves with the reference time; on a fresh key, ids may outlive an expired hash.
  if oldRef == nil or newRef > oldRef then
    redis.call('ZREMRANGEBYSCORE', idsKey, '-inf', '(' .. fmt(newRef - dedupMs))
  end
  redis.call('PEXPIRE', stateKey, ttlMs)
  redis.call('PEXPIRE', idsKey, ttlMs)
  return applied, duplicates, late, lateAgain, lateIdx, againIdx, dupIdx, damaged, fixed
end

local known = {}
for d = 1, DIMENSIONS do
  if groups[d].n > 0 then known[d] = knownIds(KEYS[2 * d], groups[d].first, groups[d].n) end
end
local result = { 0, 0, 0, 0 }
local refs, fields, lateAt, againAt, dupAt = {}, {}, {}, {}, {}
local offset = 0
for d = 1, DIMENSIONS do
  local g = groups[d]
  if g.n > 0 then
    local applied, duplicates, late, lateAgain, lateIdx, againIdx, dupIdx, damaged, fixed =
      applyOne(KEYS[2 * d - 1], KEYS[2 * d], g.first, g.n, known[d])
    result[1] = result[1] + applied
    result[2] = result[2] + duplicates
    result[3] = result[3] + late
    result[4] = result[4] + lateAgain
    if damaged then
      refs[#refs + 1] = d
      refs[#refs + 1] = damaged
    end
    for k = 1, #fixed, 2 do
      fields[#fields + 1] = d
      fields[#fields + 1] = fixed[k]
      fields[#fields + 1] = fixed[k + 1]
    end
    for k = 1, #lateIdx do lateAt[#lateAt + 1] = offset + lateIdx[k] end
    for k = 1, #againIdx do againAt[#againAt + 1] = offset + againIdx[k] end
    for k = 1, #dupIdx do dupAt[#dupAt + 1] = offset + dupIdx[k] end
  end
  offset = offset + g.n
end
result[5] = #refs / 2
for k = 1, #refs do result[#result + 1] = refs[k] end
result[#result + 1] = #fields / 3
for k = 1, #fields do result[#result + 1] = fields[k] end
for k = 1, #lateAt do result[#result + 1] = lateAt[k] end
for k = 1, #againAt do result[#result + 1] = againAt[k] end
for k = 1, #dupAt do result[#result + 1] = dupAt[k] end
return result
