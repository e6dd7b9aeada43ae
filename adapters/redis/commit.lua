-- Applies one engine.Change atomically; commit.go builds the arguments.
--
-- KEYS[1..n] are the version keys of the accounts the command decided on
-- and ARGV[1] is n; ARGV[2..n+1] are the versions it read (a missing key is
-- version 0). Then come the writes, each as four or more ARGV entries:
-- command, index of its key in KEYS, argument count, arguments.
--
-- Besides Redis commands, a write may be XADDSAMEID: an XADD, on its own
-- key, with the entry id that the previous XADD of the list returned (its
-- arguments are the fields and values only). Commit uses it to copy an event
-- to each recipient's stream under the id it got in the global stream; those
-- ids only ever grow, so the copy is always above the stream's last entry.
--
-- Returns {"conflict", key, current} and writes nothing when a version
-- differs, else applies every write, increments every version and returns
-- {"ok"}.
local n = tonumber(ARGV[1])
for i = 1, n do
  local current = redis.call('GET', KEYS[i]) or '0'
  if current ~= ARGV[i + 1] then
    return {'conflict', KEYS[i], current}
  end
end

-- Check the whole write list before the first write: a script that fails
-- halfway keeps its earlier writes.
local allowed = {SET = true, HSET = true, HDEL = true, ZADD = true, ZREM = true, XADD = true, XADDSAMEID = true}
local added = false
local a = n + 2
while a <= #ARGV do
  local argc = tonumber(ARGV[a + 2])
  if not allowed[ARGV[a]] or not KEYS[tonumber(ARGV[a + 1])] or not argc or a + 2 + argc > #ARGV
      or (ARGV[a] == 'XADDSAMEID' and not added) then
    return redis.error_reply('gatehouse commit: malformed write at ARGV[' .. a .. ']')
  end
  added = added or ARGV[a] == 'XADD'
  a = a + 3 + argc
end

local last
a = n + 2
while a <= #ARGV do
  local argc = tonumber(ARGV[a + 2])
  local command, key = ARGV[a], KEYS[tonumber(ARGV[a + 1])]
  if command == 'XADDSAMEID' then
    redis.call('XADD', key, last, unpack(ARGV, a + 3, a + 2 + argc))
  else
    local reply = redis.call(command, key, unpack(ARGV, a + 3, a + 2 + argc))
    if command == 'XADD' then
      last = reply
    end
  end
  a = a + 3 + argc
end

for i = 1, n do
  redis.call('INCR', KEYS[i])
end
return {'ok'}
