"""Queue names and the Redis connection. Queues by kind, so a slow report never delays pushes."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

PUSH = "push"
PULL = "pull"
DEFAULT = "default"
ALL_QUEUES: tuple[str, ...] = (PUSH, PULL, DEFAULT)


@lru_cache(maxsize=8)
def redis_connection(url: str) -> Redis:
    return Redis.from_url(
        url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=30
    )


def get_queue(name: str, url: str) -> Queue:
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection(url))
