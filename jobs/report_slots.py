"""Report slots: at most N pulls of one customer at a time, counted in Redis across workers.

A slot is a member of a sorted set scored by its lease's end, so a worker that dies holding one
frees it when the lease runs out; taking a slot is one Lua script, so two workers never both take
the last one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


def take(redis: Redis, key: str, cap: int, holder: str, lease_seconds: int) -> bool:
    now = time.time()
    taken = redis.eval(_TAKE, 1, key, now, cap, now + lease_seconds, holder, lease_seconds)
    return bool(taken)


def give_back(redis: Redis, key: str, holder: str) -> None:
    redis.zrem(key, holder)


@contextmanager
def report_slot(
    redis: Redis, key: str, cap: int, holder: str, lease_seconds: int
) -> Iterator[bool]:
    """Yields whether a slot was taken; gives it back on the way out."""
    taken = take(redis, key, cap, holder, lease_seconds)
    try:
        yield taken
    finally:
        if taken:
            give_back(redis, key, holder)
