-- Applies the writes of one hash slot atomically: the home account's part
-- of an engine.Change (commit.go), one step of an outbox entry on another
-- slot, whose "commit record" is then the step's applied marker (relay.go),
-- or the taking or release of a fence on another account (fence.go). Every
-- key is in one slot.
--
-- ARGV[1] is the index in KEYS of the commit record key (0: none) and
-- ARGV[2] its time to live in milliseconds; ARGV[3] the index of the
-- idempotency record key (0: none), ARGV[4] the record and ARGV[5] its time
-- to live in milliseconds. ARGV[6] is the index of the outbox key whose
-- first entries the reply carries (0: none). ARGV[7] is the index of the
-- slot's account fence key (0: none), ARGV[8] what to do with it ("check":
-- another change's fence is a conflict; "hold": the same, then take it;
-- "release": drop it when it is this change's), ARGV[9] this change's outbox
-- entry id and ARGV[10] the fence's time to live in milliseconds. ARGV[11]
-- is the number c of version checks, then come c checks of three entries
-- each: index of the version key in KEYS, hash field ('' for a string key),
-- version read (a missing key or field is version 0). Then come the writes,
-- each as three or more ARGV entries: command, index of its key in KEYS,
-- argument count, arguments. Versions are incremented by INCR and HINCRBY
-- writes, which commit.go appends.
--
-- Returns {"applied", ...} and writes nothing when the commit record
-- exists: this very change was applied before (its reply was lost, and it
-- is sent again). Returns {"conflict", key, current} and writes nothing when
-- a version differs, the idempotency record exists or another change holds
-- the fence. Else applies every write, sets the commit and idempotency
-- records with their time to live, takes or releases the fence, and
-- returns {"ok", ...}. "..." is, with an outbox key, the id and the "entry"
-- field of its first 64 entries, in turn.
local outboxKey = tonumber(ARGV[6])
local function reply(status)
  local out = {status}
  if outboxKey > 0 then
    for _, e in ipairs(redis.call('XRANGE', KEYS[outboxKey], '-', '+', 'COUNT', 64)) do
      out[#out + 1] = e[1]
      out[#out + 1] = e[2][2]
    end
  end
  return out
end

local commitKey, idemKey = tonumber(ARGV[1]), tonumber(ARGV[3])
if commitKey > 0 and redis.call('EXISTS', KEYS[commitKey]) == 1 then
  return reply('applied')
end
if idemKey > 0 and redis.call('EXISTS', KEYS[idemKey]) == 1 then
  return {'conflict', KEYS[idemKey], 'an idempotency record'}
end

local fenceKey, fenceMode, own = tonumber(ARGV[7]), ARGV[8], ARGV[9]
local fence = false
if fenceKey > 0 then
  fence = redis.call('GET', KEYS[fenceKey])
  if fence and fence ~= own and fenceMode ~= 'release' then
    return {'conflict', KEYS[fenceKey], 'a change of several accounts in progress'}
  end
end

local c = tonumber(ARGV[11])
for i = 0, c - 1 do
  local k, field, read = KEYS[tonumber(ARGV[12 + 3 * i])], ARGV[13 + 3 * i], ARGV[14 + 3 * i]
  local current
  if field == '' then
    current = redis.call('GET', k)
  else
    current = redis.call('HGET', k, field)
  end
  current = current or '0'
  if current ~= read then
    if field ~= '' then
      k = k .. ' ' .. field
    end
    return {'conflict', k, current}
  end
end

-- Check the whole write list before the first write: a script that fails
-- halfway keeps its earlier writes.
local allowed = {
  SET = true, HSET = true, HDEL = true, ZADD = true, ZREM = true, XADD = true,
  INCR = true, HINCRBY = true,
}
local first = 12 + 3 * c
local a = first
while a <= #ARGV do
  local argc = tonumber(ARGV[a + 2])
  if not allowed[ARGV[a]] or not KEYS[tonumber(ARGV[a + 1])] or not argc or a + 2 + argc > #ARGV then
    return redis.error_reply('gatehouse commit: malformed write at ARGV[' .. a .. ']')
  end
  a = a + 3 + argc
end

a = first
while a <= #ARGV do
  local argc = tonumber(ARGV[a + 2])
  redis.call(ARGV[a], KEYS[tonumber(ARGV[a + 1])], unpack(ARGV, a + 3, a + 2 + argc))
  a = a + 3 + argc
end

if commitKey > 0 then
  redis.call('SET', KEYS[commitKey], '1', 'PX', ARGV[2])
end
if idemKey > 0 then
  redis.call('SET', KEYS[idemKey], ARGV[4], 'PX', ARGV[5])
end
if fenceMode == 'hold' then
  redis.call('SET', KEYS[fenceKey], own, 'PX', ARGV[10])
elseif fenceMode == 'release' and fence == own then
  redis.call('DEL', KEYS[fenceKey])
end
return reply('ok')
