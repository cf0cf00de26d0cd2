"""The harnesses of every kind that has landed; the soak and fault benchmarks run them all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from reliability.harness import KindHarness
from reliability.kinds.hmac_key import HmacKeyHarness
from reliability.kinds.postgres import postgres_harness
from reliability.kinds.valkey import elasticache_auth_token_harness, elasticache_user_harness, valkey_acl_harness


@contextmanager
def _hmac() -> Iterator[KindHarness]:
    yield HmacKeyHarness()


# kind -> a context manager that starts what the kind needs (servers) and yields its harness
HARNESSES: dict[str, Callable[[], AbstractContextManager[KindHarness]]] = {
    "hmac_key": _hmac,
    "postgres_alternating": lambda: postgres_harness(alternating=True),
    "postgres_single": lambda: postgres_harness(alternating=False),
    "valkey_acl": valkey_acl_harness,
    "elasticache_user": elasticache_user_harness,
    "elasticache_auth_token": elasticache_auth_token_harness,
}
