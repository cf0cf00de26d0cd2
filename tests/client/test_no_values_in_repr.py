"""No object of the library shows a secret value in ``repr`` or ``str`` (issue 15, defect 3):
a ``%r`` log line, a pytest assertion, Sentry's locals or Django's debug page print them.

The test builds one of every public object holding a secret (after real reads through moto),
then walks everything reachable from them (attributes, slots, containers) and checks the
``repr``/``str`` of each object whose class belongs to the library."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest

import secret_rotation_kit
from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import RotationDriver
from secret_rotation_kit import (
    AsyncRotatingCredentialProvider,
    HmacKeyring,
    PostgresConnectionFactory,
    RotatingCredentialProvider,
    RotatingHmacKeyring,
    SecretCache,
)
from secret_rotation_kit.cli.inspect import Version, digest_key, keyed_digest
from tests.conftest import SecretFactory

PASSWORD = "pw-that-must-never-show-0123456789"
KEY = "9c" * 32


def library_objects(root: Any, depth: int = 5) -> Iterator[Any]:
    """Every object reachable from ``root`` whose class is defined in secret_rotation_kit."""
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        obj, level = stack.pop()
        if id(obj) in seen or level > depth or isinstance(obj, str | bytes | int | float | bool | type(None)):
            continue
        seen.add(id(obj))
        if type(obj).__module__.startswith("secret_rotation_kit"):
            yield obj
        children: list[Any] = []
        if isinstance(obj, dict):
            children += list(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            children += list(obj)
        else:
            children += list(getattr(obj, "__dict__", {}).values())
            for cls in type(obj).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    if hasattr(obj, slot):
                        children.append(getattr(obj, slot))
        stack += [(child, level + 1) for child in children]


@pytest.fixture
def everything(secretsmanager: Any, create_secret: SecretFactory) -> list[Any]:
    pg = create_secret("app/test/repr/pg", {"engine": "postgres", "host": "127.0.0.1", "port": 5432,
                                            "username": "app", "password": PASSWORD, "ssl": False})  # fmt: skip
    vk = create_secret("app/test/repr/vk", {"host": "127.0.0.1", "port": 6379, "username": "app",
                                            "password": PASSWORD, "ssl": False})  # fmt: skip
    hm = create_secret("app/test/repr/hmac", {"key": KEY})
    RotationDriver(hmac_handler).rotate(hm)  # two keys: AWSCURRENT and AWSPREVIOUS
    cache = SecretCache(secretsmanager)
    factory = PostgresConnectionFactory(cache, pg)
    provider = RotatingCredentialProvider(cache, vk)
    async_provider = AsyncRotatingCredentialProvider(cache, vk)
    ring = RotatingHmacKeyring(cache, hm)
    snapshot = cache.snapshot(hm)
    objects = [
        cache,
        cache.snapshot(pg),
        cache.snapshot(pg).json(),
        cache.snapshot(vk).json(),
        snapshot,
        factory,
        factory.connection_params(),
        provider,
        async_provider,
        ring,
        ring.keyring(),
        HmacKeyring.from_snapshot(snapshot),
        HmacKeyring.from_hex([KEY]),
        Version("v1", ("AWSCURRENT",), None, keyed_digest(digest_key(), json.dumps({"key": KEY}))),
    ]
    provider.get_credentials()  # leaves its attempt state behind, as after a connection
    return objects


def secret_values(secretsmanager: Any) -> list[str]:
    values = [PASSWORD, KEY]
    hm = secretsmanager.get_secret_value(SecretId="app/test/repr/hmac")["SecretString"]
    values.append(json.loads(hm)["key"])
    return values


def test_no_library_object_shows_a_secret_value_in_repr_or_str(everything: list[Any], secretsmanager: Any) -> None:
    values = secret_values(secretsmanager)
    checked: set[str] = set()
    leaks = []
    for root in everything:
        for obj in library_objects(root):
            checked.add(type(obj).__name__)
            for text in (repr(obj), str(obj)):
                leaks += [f"{type(obj).__name__} shows a secret value" for value in values if value in text]

    assert leaks == []
    assert {"SecretCache", "_Entry", "_State", "SecretSnapshot", "SecretFields", "RedactedDict", "HmacKeyring",
            "RotatingHmacKeyring", "PostgresConnectionFactory", "RotatingCredentialProvider",
            "AsyncRotatingCredentialProvider", "Version"} <= checked  # fmt: skip


def test_every_public_class_that_holds_a_secret_is_covered_by_the_walk(everything: list[Any]) -> None:
    """A new public class must be added to the fixture above (or be an error/stat type)."""
    covered = {type(obj) for root in everything for obj in library_objects(root)}
    public = {
        value
        for name in secret_rotation_kit.__all__
        if inspect.isclass(value := getattr(secret_rotation_kit, name))
        and not issubclass(value, Exception)
        and name not in ("CacheStats", "CacheSettings")  # counters and numbers, no values
    }

    assert public - covered == set()
