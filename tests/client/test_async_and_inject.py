"""asyncio and injection (issue 15, API): ``await cache.aget`` never blocks the event loop on
Secrets Manager; ``AsyncRotatingCredentialProvider`` keeps redis.asyncio clients working through
rotations of a real Valkey ACL user; ``inject_secret`` hands the current value to plain and async
functions at every call; ``default_cache()`` is one cache per process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver
from secret_rotation_kit import (
    AsyncRotatingCredentialProvider,
    SecretCache,
    SecretUnavailableError,
    default_cache,
    inject_secret,
)
from tests.client.app_loop import serve_through_rotations
from tests.client.fakes import FIRST, NAME, SECOND, FakeClock, FakeSecretsManager
from tests.client.hung import HungListener, SwitchableClient
from tests.plugins.valkey_fixtures import ValkeyTarget


def test_aget_of_a_fresh_value_and_a_slow_read_that_leaves_the_event_loop_running() -> None:
    fake, clock = FakeSecretsManager(NAME, FIRST), FakeClock()
    client = SwitchableClient(fake)
    cache = SecretCache(client, ttl=300, max_stale=0, clock=clock)

    async def scenario(hung: HungListener) -> tuple[str, bool, BaseException | None]:
        fresh = str(await cache.aget(NAME))
        client.current = hung.client(read_timeout=30)
        clock.advance(301)  # nothing servable: the read must go to the (hung) Secrets Manager
        read = asyncio.ensure_future(cache.aget(NAME))
        loop_ran = asyncio.Event()
        asyncio.get_running_loop().call_soon(loop_ran.set)
        await loop_ran.wait()  # the loop keeps running while the read hangs in its thread
        pending = not read.done()
        await asyncio.to_thread(hung.accepted.wait, 30)
        hung.close()  # the hung call now fails: the read raises
        try:
            await read
        except SecretUnavailableError as exc:
            return fresh, pending, exc
        return fresh, pending, None

    with HungListener() as hung:
        fresh, pending, error = asyncio.run(scenario(hung))

    assert fresh == FIRST
    assert pending
    assert isinstance(error, SecretUnavailableError)


def test_a_redis_asyncio_client_keeps_working_through_valkey_acl_rotations(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    cache = SecretCache(vk.client, ttl=10**6, version_check_interval=10**6)
    provider = AsyncRotatingCredentialProvider(cache, arn)
    driver = RotationDriver(acl_handler)

    async def request() -> None:
        client = await provider.client()  # a new connection per request: a new AUTH each time
        try:
            assert await client.set("orders:async", "1")
            assert await client.get("orders:async") == b"1"
        finally:
            await client.aclose()

    result = serve_through_rotations(lambda: asyncio.run(request()), lambda: driver.rotate(arn), 10)

    assert result.failures == []
    assert provider.rejected_logins > 0
    assert cache.stats.forced_refreshes > 0


def test_inject_secret_passes_the_current_value_at_every_call_to_plain_and_async_functions() -> None:
    fake, clock = FakeSecretsManager(NAME, FIRST), FakeClock()
    cache = SecretCache(fake, ttl=300, version_check_interval=30, clock=clock)

    @inject_secret(NAME, cache=cache)
    def handler(event: str, secret: str) -> tuple[str, str]:
        return event, secret

    @inject_secret(NAME, cache=cache, transform="json", into="fields")
    async def async_handler(fields: Any) -> str:
        return str(fields["key"])

    before = handler("e1")
    fake.rotate(SECOND)
    clock.advance(31)
    handler("e2")  # due for a check: served at once, checked in the background
    assert cache.wait_for_refreshes()

    assert before == ("e1", FIRST)
    assert handler("e3") == ("e3", SECOND)
    assert asyncio.run(async_handler()) == "b2" * 32
    assert handler("e4", secret="given by the caller") == ("e4", "given by the caller")


def test_default_cache_is_one_cache_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import secret_rotation_kit.inject as inject

    monkeypatch.setattr(inject, "_default", None)
    monkeypatch.setenv("SECRET_ROTATION_TTL", "60")

    first, second = default_cache(), default_cache()

    assert first is second
    assert first.settings.ttl == 60
