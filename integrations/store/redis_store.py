"""`RedisStore`: shared state for several replicas (``RESYNC_REDIS_URL``, plain Redis 6+).

Every operation is a single atomic Redis command or Lua script, so replicas never race.
Keys are prefixed (``resync:`` by default) so one Redis can serve several deployments.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from integrations import metrics
from integrations.store.base import RateDecision, StoreError

__all__ = ["RedisStore"]

# Take or extend a lease: set when absent or already ours.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Release only our own lease (compare and delete).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Sliding window on a sorted set of event times (ms): drop old, count, maybe add.
_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""

# A queue is a sorted set of members by the time first added (ms) plus one expiring value key
# per member (``<queue>:<member>``); members whose value expired are dropped on reading.
_QUEUE_ADD = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
"""
_QUEUE_OLDEST = """
local limit = tonumber(ARGV[1])
local found = {}
local offset = 0
while #found < 2 * limit do
  local members = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
  if #members == 0 then break end
  for _, member in ipairs(members) do
    local value = redis.call('GET', KEYS[1] .. ':' .. member)
    if value then
      if #found < 2 * limit then
        table.insert(found, member)
        table.insert(found, value)
      end
    else
      redis.call('ZREM', KEYS[1], member)
      offset = offset - 1
    end
  end
  offset = offset + #members
end
return found
"""


class RedisStore:
    """Expiring key-value state in Redis."""

    def __init__(self, *, url: str, prefix: str = "resync:") -> None:
        """Connect lazily to ``url``.

        Args:
            url: ``redis://host:6379/0`` (``rediss://`` for TLS).
            prefix: Prepended to every key.
        """
        self._redis: Any = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._release = self._redis.register_script(_RELEASE)
        self._hit = self._redis.register_script(_HIT)
        self._queue_add = self._redis.register_script(_QUEUE_ADD)
        self._queue_oldest = self._redis.register_script(_QUEUE_OLDEST)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def _run(self, what: str, operation: Any) -> Any:
        try:
            return await operation
        except RedisError as exc:
            metrics.STORE_ERRORS.labels(operation=what).inc()
            raise StoreError(f"Redis {what} failed: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> None:
        """Check the connection.

        Raises:
            StoreError: Redis is not reachable.
        """
        await self._run("PING", self._redis.ping())

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        """Claim a key once (``SET NX PX``)."""
        result = await self._run(
            "SET NX",
            self._redis.set(self._key(key), "1", nx=True, px=max(1, int(ttl_seconds * 1000))),
        )
        return bool(result)

    async def put(self, key: str, value: str, *, ttl_seconds: float | None = None) -> None:
        """Set a value, optionally expiring."""
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        await self._run("SET", self._redis.set(self._key(key), value, px=px))

    async def get(self, key: str) -> str | None:
        """Read a value, or None."""
        value = await self._run("GET", self._redis.get(self._key(key)))
        return None if value is None else str(value)

    async def delete(self, key: str) -> None:
        """Remove a key."""
        await self._run("DEL", self._redis.delete(self._key(key)))

    async def acquire_lease(self, key: str, *, owner: str, ttl_seconds: float) -> bool:
        """Take (or extend) a lease for ``owner``."""
        px = max(1, int(ttl_seconds * 1000))
        result = await self._run("lease", self._acquire(keys=[self._key(key)], args=[owner, px]))
        return bool(result)

    async def release_lease(self, key: str, *, owner: str) -> bool:
        """Release a lease held by ``owner``."""
        result = await self._run("release", self._release(keys=[self._key(key)], args=[owner]))
        return bool(result)

    async def hit(self, key: str, *, limit: int, window_seconds: float) -> RateDecision:
        """Count one event in a sliding window."""
        now_ms = int(time.time() * 1000)
        allowed, retry_ms = await self._run(
            "rate limit",
            self._hit(
                keys=[self._key(key)],
                args=[now_ms, int(window_seconds * 1000), limit, f"{now_ms}-{uuid.uuid4().hex}"],
            ),
        )
        return RateDecision(allowed=bool(allowed), retry_after=max(0.0, float(retry_ms) / 1000))

    async def queue_add(self, queue: str, member: str, value: str, *, ttl_seconds: float) -> None:
        """Add or replace a queue member (it keeps its place)."""
        name = self._key(queue)
        args: list[str | int] = [
            int(time.time() * 1000),
            member,
            value,
            max(1, int(ttl_seconds * 1000)),
        ]
        await self._run("queue add", self._queue_add(keys=[name, f"{name}:{member}"], args=args))

    async def queue_oldest(self, queue: str, *, limit: int) -> list[tuple[str, str]]:
        """The oldest live members, oldest first (expired ones are dropped on the way)."""
        if limit <= 0:
            return []
        flat = await self._run(
            "queue oldest", self._queue_oldest(keys=[self._key(queue)], args=[limit])
        )
        return [(str(flat[i]), str(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def queue_remove(self, queue: str, member: str) -> None:
        """Remove a queue member."""
        name = self._key(queue)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(name, member)
        pipe.delete(f"{name}:{member}")
        await self._run("queue remove", pipe.execute())

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
