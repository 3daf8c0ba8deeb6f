"""RedisHandoffStore: ownership, queues and agents shared by every front-door process through Redis.

Each transition is one Lua script, so the state check, the queue move and the agents' loads change together or
not at all. Key names come from handoff/constants.py. Must never run a check in Python and then write (that is
the race the scripts exist to close). Keys are built inside the scripts from one prefix, so this targets a single
Redis (or a primary with replicas), not Redis Cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from handoff.agents import AgentProfile, AgentStatus, Presence
from handoff.constants import (
    AGENT_CHATS_KEY,
    AGENT_CONSOLES_KEY,
    AGENT_KEY,
    AGENTS_KEY,
    ARRIVALS_KEY,
    AVAILABLE_KEY,
    CONSOLE_AGENTS_KEY,
    CONSOLES_KEY,
    CONVERSATION_KEY,
    DISCONNECTED_KEY,
    HANDLING_TIMES_KEPT,
    HANDLING_TIMES_KEY,
    KEY_PREFIX,
    LOAD_SCORE_STEP,
    ONLINE_KEY,
    PRIORITY_SCORE_STEP,
    QUEUE_KEY,
    QUEUES_KEY,
    RECORD_TTL_S,
    SEEDED_KEY,
    SEEN_KEY,
    SERVED_KEY,
    UNANSWERED_KEY,
    WRAP_UP_KEY,
)
from handoff.ownership import OwnershipRecord, Transition
from handoff.queue import QueuedEntry
from intake.models import Priority

# Shared Lua (after the names table N, which _script() prepends as a literal): refresh_agent(), which keeps an
# agent's entries in the available-agent and online sets in step with their presence, load and idle time.
_PRELUDE = """
local function akey(aid) return N.agent_prefix .. aid end
local function refresh_agent(aid)
  local a = redis.call('HMGET', akey(aid), 'presence', 'capacity', 'queues', 'last_assigned_at', 'disconnected_at')
  if not a[3] then return end
  local load = redis.call('SCARD', akey(aid) .. N.chats_suffix)
  -- An agent gone from every console (within her grace period) keeps her chats but is offered no new ones.
  local ok = a[1] == 'online' and load < tonumber(a[2]) and not a[5]
  local last = tonumber(a[4]) or 0
  local score = string.format('%.0f', load * N.load_step + math.floor(last * 1000))
  for _, q in ipairs(cjson.decode(a[3])) do
    if ok then redis.call('ZADD', N.avail_prefix .. q, score, aid)
    else redis.call('ZREM', N.avail_prefix .. q, aid) end
    if a[1] == 'online' then redis.call('SADD', N.online_prefix .. q, aid)
    else redis.call('SREM', N.online_prefix .. q, aid) end
  end
end
-- One JSON string instead of a flat field list: a single bulk reply is far cheaper for the client to parse.
local function record_json(key, extra)
  local raw = redis.call('HGETALL', key)
  local out = {}
  for i = 1, #raw, 2 do out[raw[i]] = raw[i + 1] end
  if extra then for k, v in pairs(extra) do out[k] = v end end
  return cjson.encode(out)
end
"""

# apply_step(t) is one transition (see ownership.Transition); it returns the conversation key, or false when a
# check failed, having changed nothing. t: cid, target, allowed (",a,b,"), now (text), expect_agent (or nil),
# expect_version (or nil), agent ("" / "*" = best available), skill, priority, keep_enqueued_at (bool), sets,
# head_start (text seconds, or nil: keep the record's).
_APPLY_STEP = """
local agent_states = {assigned = true, wrap_up = true}
local function apply_step(t)
  local ckey = N.conv_prefix .. t.cid
  local cur = {}
  local raw = redis.call('HGETALL', ckey)
  for i = 1, #raw, 2 do cur[raw[i]] = raw[i + 1] end
  local state = cur.state or 'bot'
  local cur_agent = cur.agent_id or ''
  local version = tonumber(cur.version) or 0
  if not string.find(t.allowed, ',' .. state .. ',', 1, true) then return false end
  if t.expect_agent and cur_agent ~= t.expect_agent then return false end
  if t.expect_version and version ~= t.expect_version then return false end
  if t.seen_before and (tonumber(cur.customer_seen_at) or 0) > t.seen_before then return false end
  local skill = cur.skill or ''
  local new_agent = nil
  if t.target == 'assigned' then
    if t.agent == '' or t.agent == '*' then
      for _, aid in ipairs(redis.call('ZRANGE', N.avail_prefix .. skill, 0, 2)) do
        if aid ~= cur_agent and aid ~= t.avoid then new_agent = aid break end
      end
    elseif t.agent ~= cur_agent then
      local a = redis.call('HMGET', akey(t.agent), 'presence', 'capacity', 'disconnected_at')
      if a[1] == 'online' and not a[3] and redis.call('SCARD', akey(t.agent) .. N.chats_suffix) < tonumber(a[2]) then
        new_agent = t.agent
      end
    end
    if not new_agent then return false end
  end
  local sets = t.sets
  if t.event and t.event ~= '' then
    -- Append to the stored JSON array as text: re-encoding it with cjson would round older timestamps.
    local old = cur.events
    if not old or old == '' or old == '[]' then sets.events = '[' .. t.event .. ']'
    else sets.events = string.sub(old, 1, -2) .. ',' .. t.event .. ']' end
  end
  if state == 'queued' then
    redis.call('ZREM', N.queue_prefix .. skill, t.cid)
    redis.call('ZREM', N.arrivals_prefix .. skill, t.cid)
    redis.call('ZREM', N.seen, t.cid)
  end
  if agent_states[state] and (not agent_states[t.target] or new_agent) then
    if cur_agent ~= '' then
      redis.call('SREM', akey(cur_agent) .. N.chats_suffix, t.cid)
      refresh_agent(cur_agent)
    end
    redis.call('ZREM', N.unanswered, t.cid)
    redis.call('ZREM', N.wrap_up, t.cid)
    sets.agent_id = ''
    sets.assigned_at = ''
    sets.last_agent_reply_at = ''
    sets.wrap_up_at = ''
  end
  if t.target == 'queued' then
    local new_skill = t.skill ~= '' and t.skill or skill
    local priority = t.priority ~= '' and t.priority or (cur.priority or 'normal')
    local enq_text = t.now
    if t.keep_enqueued_at and cur.enqueued_at and cur.enqueued_at ~= '' then enq_text = cur.enqueued_at end
    local band = N.serve_order[priority] or N.serve_order['normal']
    local head_text = t.head_start or cur.head_start_s or '0'
    if head_text == '' then head_text = '0' end
    local enq_ms = math.floor(tonumber(enq_text) * 1000)
    local score = string.format('%.0f', band * N.priority_step + enq_ms - math.floor(tonumber(head_text) * 1000))
    redis.call('ZADD', N.queue_prefix .. new_skill, score, t.cid)
    redis.call('ZADD', N.arrivals_prefix .. new_skill, string.format('%.0f', enq_ms), t.cid)
    redis.call('SADD', N.queues, new_skill)
    sets.skill = new_skill
    sets.priority = priority
    sets.enqueued_at = enq_text
    sets.head_start_s = head_text
    redis.call('ZADD', N.seen, t.now, t.cid)
    sets.customer_seen_at = t.now
  elseif t.target == 'assigned' then
    redis.call('SADD', akey(new_agent) .. N.chats_suffix, t.cid)
    redis.call('HSET', akey(new_agent), 'last_assigned_at', t.now)
    refresh_agent(new_agent)
    redis.call('ZADD', N.unanswered, t.now, t.cid)
    sets.agent_id = new_agent
    sets.assigned_at = t.now
    sets.last_agent_reply_at = ''
  elseif t.target == 'wrap_up' then
    redis.call('ZREM', N.unanswered, t.cid)
    redis.call('ZADD', N.wrap_up, t.now, t.cid)
    sets.wrap_up_at = t.now
  end
  sets.state = t.target
  sets.version = tostring(version + 1)
  sets.updated_at = t.now
  local args = {}
  for k, v in pairs(sets) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  redis.call('HSET', ckey, unpack(args))
  if agent_states[t.target] or t.target == 'queued' then
    redis.call('PERSIST', ckey)
  else
    redis.call('PEXPIRE', ckey, N.record_ttl_ms)
  end
  return ckey
end
local function assign_best(cid, now)
  return apply_step({cid = cid, target = 'assigned', allowed = ',queued,', now = now, agent = '*', skill = '',
    priority = '', keep_enqueued_at = false, sets = {}})
end
"""

# ARGV: conversation id, target, ",allowed,states,", now, expect_agent, has_expect_agent (0/1),
# expect_version or "", agent or "" ("*" = best available), skill or "", priority or "", keep_enqueued_at (0/1),
# fields JSON, assign_after (0/1), avoid_agent or "", event JSON or "", seen_before or "", head_start or "".
_APPLY = (
    _PRELUDE
    + _APPLY_STEP
    + """
local ckey = apply_step({
  cid = ARGV[1], target = ARGV[2], allowed = ARGV[3], now = ARGV[4],
  expect_agent = ARGV[6] == '1' and ARGV[5] or nil,
  expect_version = ARGV[7] ~= '' and tonumber(ARGV[7]) or nil,
  agent = ARGV[8], skill = ARGV[9], priority = ARGV[10], keep_enqueued_at = ARGV[11] == '1',
  sets = cjson.decode(ARGV[12]), avoid = ARGV[14], event = ARGV[15],
  seen_before = ARGV[16] ~= '' and tonumber(ARGV[16]) or nil,
  head_start = ARGV[17] ~= '' and ARGV[17] or nil})
if not ckey then return false end
if ARGV[13] == '1' then assign_best(ARGV[1], ARGV[4]) end
return record_json(ckey)
"""
)

# ARGV: agent id, now. The best head (lowest score, then id) across the agent's queues goes to the agent.
_PULL = (
    _PRELUDE
    + _APPLY_STEP
    + """
local aid = ARGV[1]
local queues = redis.call('HGET', akey(aid), 'queues')
if not queues then return false end
local best_cid, best_score = nil, nil
for _, q in ipairs(cjson.decode(queues)) do
  local head = redis.call('ZRANGE', N.queue_prefix .. q, 0, 0, 'WITHSCORES')
  if head[1] then
    local score = tonumber(head[2])
    if not best_score or score < best_score or (score == best_score and head[1] < best_cid) then
      best_cid, best_score = head[1], score
    end
  end
end
if not best_cid then return false end
local ckey = apply_step({cid = best_cid, target = 'assigned', allowed = ',queued,', now = ARGV[2], agent = aid,
  skill = '', priority = '', keep_enqueued_at = false, sets = {}})
if not ckey then return false end
return record_json(ckey, {__cid__ = best_cid})
"""
)

# ARGV: conversation id, agent id, now.
_MARK_REPLY = (
    _PRELUDE
    + """
local ckey = N.conv_prefix .. ARGV[1]
local cur = redis.call('HMGET', ckey, 'state', 'agent_id', 'version')
if cur[1] ~= 'assigned' or cur[2] ~= ARGV[2] then return false end
redis.call('HSET', ckey, 'last_agent_reply_at', ARGV[3], 'version', tostring((tonumber(cur[3]) or 0) + 1),
  'updated_at', ARGV[3])
redis.call('ZREM', N.unanswered, ARGV[1])
return record_json(ckey)
"""
)

# ARGV: conversation id, now. Only a queued conversation's customer counts as seen.
_MARK_SEEN = (
    _PRELUDE
    + """
local ckey = N.conv_prefix .. ARGV[1]
if redis.call('HGET', ckey, 'state') ~= 'queued' then return 0 end
redis.call('HSET', ckey, 'customer_seen_at', ARGV[2])
redis.call('ZADD', N.seen, ARGV[2], ARGV[1])
return 1
"""
)

# ARGV: agent id, display name, skills JSON, languages JSON, capacity, queues JSON, now.
_UPSERT_AGENT = (
    _PRELUDE
    + """
local aid = ARGV[1]
local key = akey(aid)
local old = redis.call('HGET', key, 'queues')
if old then
  for _, q in ipairs(cjson.decode(old)) do
    redis.call('ZREM', N.avail_prefix .. q, aid)
    redis.call('SREM', N.online_prefix .. q, aid)
  end
end
redis.call('HSET', key, 'display_name', ARGV[2], 'skills', ARGV[3], 'languages', ARGV[4], 'capacity', ARGV[5],
  'queues', ARGV[6])
if redis.call('HSETNX', key, 'presence', 'offline') == 1 then
  redis.call('HSET', key, 'presence_since', ARGV[7], 'last_assigned_at', '')
end
redis.call('SADD', N.agents, aid)
for _, q in ipairs(cjson.decode(ARGV[6])) do redis.call('SADD', N.served, q) end
refresh_agent(aid)
return 1
"""
)

# ARGV: agent id, presence, now.
_SET_PRESENCE = (
    _PRELUDE
    + """
local aid = ARGV[1]
local key = akey(aid)
if redis.call('EXISTS', key) == 0 then return 0 end
if redis.call('HGET', key, 'presence') ~= ARGV[2] then
  redis.call('HSET', key, 'presence', ARGV[2], 'presence_since', ARGV[3])
end
refresh_agent(aid)
return 1
"""
)

# close_console(aid, sid, now): the socket closes; true when it was the agent's last one (she is disconnected now).
_CLOSE_CONSOLE = """
local function close_console(aid, sid, now)
  redis.call('ZREM', N.consoles, sid)
  redis.call('HDEL', N.console_agents, sid)
  local set = akey(aid) .. N.consoles_suffix
  if redis.call('SREM', set, sid) == 0 or redis.call('SCARD', set) > 0 then return false end
  if redis.call('EXISTS', akey(aid)) == 0 then return false end
  redis.call('HSET', akey(aid), 'disconnected_at', now)
  redis.call('ZADD', N.disconnected, now, aid)
  refresh_agent(aid)
  return true
end
"""

# ARGV: agent id, socket id, now, expires at.
_CONSOLE_OPENED = (
    _PRELUDE
    + """
local aid, sid = ARGV[1], ARGV[2]
local key = akey(aid)
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('SADD', key .. N.consoles_suffix, sid)
redis.call('ZADD', N.consoles, ARGV[4], sid)
redis.call('HSET', N.console_agents, sid, aid)
if redis.call('HDEL', key, 'disconnected_at') == 1 then
  redis.call('ZREM', N.disconnected, aid)
  refresh_agent(aid)
end
return 1
"""
)

# ARGV: agent id, socket id, now.
_CONSOLE_CLOSED = (
    _PRELUDE
    + _CLOSE_CONSOLE
    + """
if close_console(ARGV[1], ARGV[2], ARGV[3]) then return 1 end
return 0
"""
)

# ARGV: now. The sockets of a process that stopped renewing them.
_EXPIRE_CONSOLES = (
    _PRELUDE
    + _CLOSE_CONSOLE
    + """
local gone = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', N.consoles, '-inf', ARGV[1])) do
  local aid = redis.call('HGET', N.console_agents, sid)
  if not aid then redis.call('ZREM', N.consoles, sid)
  elseif close_console(aid, sid, ARGV[1]) then gone[#gone + 1] = aid end
end
return gone
"""
)

# ARGV: disconnected before, now. Each agent leaves the disconnected set here, once, whichever process runs it.
_EXPIRE_PRESENCE = (
    _PRELUDE
    + """
local offline = {}
for _, aid in ipairs(redis.call('ZRANGEBYSCORE', N.disconnected, '-inf', ARGV[1])) do
  redis.call('ZREM', N.disconnected, aid)
  local key = akey(aid)
  if redis.call('HDEL', key, 'disconnected_at') == 1 and redis.call('HGET', key, 'presence') ~= 'offline' then
    redis.call('HSET', key, 'presence', 'offline', 'presence_since', ARGV[2])
    offline[#offline + 1] = aid
  end
  refresh_agent(aid)
end
return offline
"""
)


def _names(prefix: str) -> dict[str, Any]:
    def swap(template: str) -> str:
        return prefix + template.removeprefix(KEY_PREFIX)

    return {
        "conv_prefix": swap(CONVERSATION_KEY.format(conversation_id="")),
        "queue_prefix": swap(QUEUE_KEY.format(skill="")),
        "arrivals_prefix": swap(ARRIVALS_KEY.format(skill="")),
        "queues": swap(QUEUES_KEY),
        "agent_prefix": swap(AGENT_KEY.format(agent_id="")),
        "chats_suffix": AGENT_CHATS_KEY.format(agent_id="").removeprefix(AGENT_KEY.format(agent_id="")),
        "agents": swap(AGENTS_KEY),
        "consoles_suffix": AGENT_CONSOLES_KEY.format(agent_id="").removeprefix(AGENT_KEY.format(agent_id="")),
        "consoles": swap(CONSOLES_KEY),
        "console_agents": swap(CONSOLE_AGENTS_KEY),
        "disconnected": swap(DISCONNECTED_KEY),
        "served": swap(SERVED_KEY),
        "avail_prefix": swap(AVAILABLE_KEY.format(skill="")),
        "online_prefix": swap(ONLINE_KEY.format(skill="")),
        "unanswered": swap(UNANSWERED_KEY),
        "wrap_up": swap(WRAP_UP_KEY),
        "seen": swap(SEEN_KEY),
        "aht_prefix": swap(HANDLING_TIMES_KEY.format(skill="")),
        "seeded": swap(SEEDED_KEY),
        "load_step": LOAD_SCORE_STEP,
        "priority_step": PRIORITY_SCORE_STEP,
        "record_ttl_ms": RECORD_TTL_S * 1000,
        "serve_order": {p.value: p.serve_order for p in Priority},
    }


def _lua_literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua_literal(k)}] = {_lua_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        if not value.isascii() or any(c in value for c in "\\'\n"):
            raise ValueError(f"Redis names must be plain ASCII: {value!r}")
        return f"'{value}'"
    return repr(value)


def _script(names: Mapping[str, Any], body: str) -> str:
    """Bake the key names into the script text: decoding them from an argument on every call costs ~15 µs."""
    return f"local N = {_lua_literal(dict(names))}\n" + body


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, str]:
    return cast(dict[str, str], json.loads(raw))


class RedisHandoffStore:
    """`client` may use decode_responses or not; `prefix` lets tests and deployments share one database."""

    def __init__(self, client: aioredis.Redis, prefix: str = KEY_PREFIX) -> None:
        self._client = client
        self._n = _names(prefix)
        self._apply = client.register_script(_script(self._n, _APPLY))
        self._pull = client.register_script(_script(self._n, _PULL))
        self._mark_reply = client.register_script(_script(self._n, _MARK_REPLY))
        self._mark_seen = client.register_script(_script(self._n, _MARK_SEEN))
        self._upsert = client.register_script(_script(self._n, _UPSERT_AGENT))
        self._presence = client.register_script(_script(self._n, _SET_PRESENCE))
        self._console_opened = client.register_script(_script(self._n, _CONSOLE_OPENED))
        self._console_closed = client.register_script(_script(self._n, _CONSOLE_CLOSED))
        self._expire_consoles = client.register_script(_script(self._n, _EXPIRE_CONSOLES))
        self._expire_presence = client.register_script(_script(self._n, _EXPIRE_PRESENCE))

    # ownership -------------------------------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> OwnershipRecord | None:
        raw = await self._client.hgetall(self._n["conv_prefix"] + conversation_id)
        if not raw:
            return None
        return OwnershipRecord.from_fields(conversation_id, {_text(k): _text(v) for k, v in raw.items()})

    async def get_many(self, conversation_ids: list[str]) -> list[OwnershipRecord]:
        if not conversation_ids:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for cid in conversation_ids:
                pipe.hgetall(self._n["conv_prefix"] + cid)
            rows = await pipe.execute()
        return [
            OwnershipRecord.from_fields(cid, {_text(k): _text(v) for k, v in raw.items()})
            for cid, raw in zip(conversation_ids, rows, strict=True)
            if raw
        ]

    async def apply(self, transition: Transition) -> OwnershipRecord | None:
        t = transition
        args = [
            t.conversation_id,
            t.target.value,
            "," + ",".join(sorted(s.value for s in t.allowed_from)) + ",",
            repr(float(t.now)),
            t.expect_agent or "",
            "1" if t.expect_agent is not None else "0",
            "" if t.expect_version is None else str(t.expect_version),
            t.agent or "",
            t.skill or "",
            t.priority or "",
            "1" if t.keep_enqueued_at else "0",
            json.dumps(dict(t.fields), ensure_ascii=False) if t.fields else "{}",
            "1" if t.assign_after else "0",
            t.avoid_agent or "",
            t.event.to_json() if t.event is not None else "",
            "" if t.seen_before is None else repr(float(t.seen_before)),
            "" if t.head_start_s is None else repr(float(t.head_start_s)),
        ]
        raw = await self._apply(keys=[], args=args)
        if not raw:
            return None
        return OwnershipRecord.from_fields(t.conversation_id, _fields(raw))

    async def pull(self, agent_id: str, now: float) -> OwnershipRecord | None:
        raw = await self._pull(keys=[], args=[agent_id, repr(float(now))])
        if not raw:
            return None
        fields = _fields(raw)
        return OwnershipRecord.from_fields(fields.pop("__cid__", ""), fields)

    async def mark_agent_reply(self, conversation_id: str, agent_id: str, now: float) -> OwnershipRecord | None:
        raw = await self._mark_reply(keys=[], args=[conversation_id, agent_id, repr(float(now))])
        return OwnershipRecord.from_fields(conversation_id, _fields(raw)) if raw else None

    async def unanswered_before(self, assigned_before: float) -> list[str]:
        ids = await self._client.zrangebyscore(self._n["unanswered"], "-inf", assigned_before)
        return [_text(i) for i in ids]

    async def wrap_up_before(self, started_before: float) -> list[str]:
        ids = await self._client.zrangebyscore(self._n["wrap_up"], "-inf", started_before)
        return [_text(i) for i in ids]

    async def mark_customer_seen(self, conversation_id: str, now: float) -> bool:
        return bool(await self._mark_seen(keys=[], args=[conversation_id, repr(float(now))]))

    async def mark_customers_seen(self, conversation_ids: Sequence[str], now: float) -> int:
        async with self._client.pipeline(transaction=False) as pipe:
            for conversation_id in conversation_ids:
                await self._mark_seen(keys=[], args=[conversation_id, repr(float(now))], client=pipe)
            marked = await pipe.execute()
        return sum(bool(m) for m in marked)

    async def silent_before(self, seen_before: float) -> list[str]:
        ids = await self._client.zrangebyscore(self._n["seen"], "-inf", seen_before)
        return [_text(i) for i in ids]

    # queues ----------------------------------------------------------------------------------------------------

    async def skills(self) -> list[str]:
        members = await self._client.smembers(self._n["queues"])
        return sorted(_text(m) for m in members)

    async def lengths(self) -> Mapping[str, int]:
        skills = await self.skills()
        async with self._client.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zcard(self._n["queue_prefix"] + skill)
            counts = await pipe.execute()
        return {skill: int(n) for skill, n in zip(skills, counts, strict=True)}

    async def head(self, skill: str, count: int = 1) -> list[QueuedEntry]:
        rows = cast(
            list[tuple[Any, float]],
            await self._client.zrange(self._n["queue_prefix"] + skill, 0, count - 1, withscores=True),
        )
        return [QueuedEntry(_text(cid), skill, int(score)) for cid, score in rows]

    async def heads(self, skills: Sequence[str]) -> list[QueuedEntry]:
        async with self._client.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zrange(self._n["queue_prefix"] + skill, 0, 0, withscores=True)
            rows = await pipe.execute()
        return [QueuedEntry(_text(r[0][0]), s, int(r[0][1])) for s, r in zip(skills, rows, strict=True) if r]

    async def position(self, conversation_id: str, skill: str) -> tuple[int, int] | None:
        key = self._n["queue_prefix"] + skill
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrank(key, conversation_id)
            pipe.zcard(key)
            rank, length = await pipe.execute()
        return None if rank is None else (int(rank) + 1, int(length))

    async def oldest_enqueued_at(self, skill: str) -> float | None:
        # The queue's own order is not arrival order (a tier's head start); the arrivals set is.
        rows = await self._client.zrange(self._n["arrivals_prefix"] + skill, 0, 0, withscores=True)
        return int(rows[0][1]) / 1000 if rows else None

    async def record_handling_time(self, skill: str, seconds: float) -> None:
        key = self._n["aht_prefix"] + skill
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.lpush(key, repr(float(seconds)))
            pipe.ltrim(key, 0, HANDLING_TIMES_KEPT - 1)
            await pipe.execute()

    async def handling_times(self, skill: str) -> list[float]:
        values = await self._client.lrange(self._n["aht_prefix"] + skill, 0, -1)
        return [float(_text(v)) for v in values]

    # agents ----------------------------------------------------------------------------------------------------

    async def upsert_agent(self, profile: AgentProfile, now: float) -> AgentStatus:
        await self._upsert(
            keys=[],
            args=[
                profile.id,
                profile.display_name,
                json.dumps(list(profile.skills)),
                json.dumps(list(profile.languages)),
                str(profile.capacity),
                json.dumps(profile.eligible_skills()),
                repr(float(now)),
            ],
        )
        status = await self.get_agent(profile.id)
        assert status is not None  # just written by the script above
        return status

    async def get_agent(self, agent_id: str) -> AgentStatus | None:
        key = self._n["agent_prefix"] + agent_id
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.smembers(key + self._n["chats_suffix"])
            raw, chats = await pipe.execute()
        return _agent_status(agent_id, raw, chats) if raw else None

    async def list_agents(self) -> list[AgentStatus]:
        ids = sorted(_text(a) for a in await self._client.smembers(self._n["agents"]))
        async with self._client.pipeline(transaction=False) as pipe:
            for aid in ids:
                key = self._n["agent_prefix"] + aid
                pipe.hgetall(key)
                pipe.smembers(key + self._n["chats_suffix"])
            rows = await pipe.execute()
        out = []
        for i, aid in enumerate(ids):
            raw, chats = rows[2 * i], rows[2 * i + 1]
            if raw:
                out.append(_agent_status(aid, raw, chats))
        return out

    async def count_online(self, skill: str) -> int:
        return int(await self._client.scard(self._n["online_prefix"] + skill))

    async def served_skills(self) -> set[str]:
        return {_text(s) for s in await self._client.smembers(self._n["served"])}

    async def set_presence(self, agent_id: str, presence: Presence, now: float) -> AgentStatus | None:
        found = await self._presence(keys=[], args=[agent_id, presence.value, repr(float(now))])
        if not found:
            return None
        return await self.get_agent(agent_id)

    async def console_opened(self, agent_id: str, socket_id: str, now: float, expires_at: float) -> bool:
        args = [agent_id, socket_id, repr(float(now)), repr(float(expires_at))]
        return bool(await self._console_opened(keys=[], args=args))

    async def console_closed(self, agent_id: str, socket_id: str, now: float) -> bool:
        return bool(await self._console_closed(keys=[], args=[agent_id, socket_id, repr(float(now))]))

    async def expire_consoles(self, now: float) -> list[str]:
        return sorted(_text(a) for a in await self._expire_consoles(keys=[], args=[repr(float(now))]))

    async def expire_presence(self, disconnected_before: float, now: float) -> list[str]:
        args = [repr(float(disconnected_before)), repr(float(now))]
        return [_text(a) for a in await self._expire_presence(keys=[], args=args)]

    async def is_seeded(self) -> bool:
        return bool(await self._client.exists(self._n["seeded"]))

    async def mark_seeded(self) -> None:
        await self._client.set(self._n["seeded"], b"1")

    async def close(self) -> None:
        return None


def _agent_status(agent_id: str, raw: Mapping[Any, Any], chats: Any) -> AgentStatus:
    data = {_text(k): _text(v) for k, v in raw.items()}
    profile = AgentProfile(
        id=agent_id,
        display_name=data.get("display_name", ""),
        skills=tuple(cast(list[str], json.loads(data.get("skills") or "[]"))),
        languages=tuple(cast(list[str], json.loads(data.get("languages") or "[]"))),
        capacity=int(data.get("capacity") or 0),
    )
    members = tuple(sorted(_text(c) for c in chats))
    return AgentStatus(
        profile=profile,
        presence=Presence(data.get("presence") or "offline"),
        load=len(members),
        last_assigned_at=float(data["last_assigned_at"]) if data.get("last_assigned_at") else None,
        presence_since=float(data["presence_since"]) if data.get("presence_since") else None,
        chats=members,
        disconnected_at=float(data["disconnected_at"]) if data.get("disconnected_at") else None,
    )
