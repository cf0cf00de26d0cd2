"""A process-wide default cache and a decorator that hands a secret to a function on each call.

Like aws-secretsmanager-caching's ``InjectSecretString`` and Powertools' ``parameters``
helpers, but the value is read from the cache at every call (a lock-free memory read), so a
long-lived function follows rotations instead of keeping the value it first saw.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from .cache import SecretCache, Transform
from .snapshot import AWSCURRENT

P = ParamSpec("P")
R = TypeVar("R")

_default: SecretCache | None = None
_default_lock = threading.Lock()


def default_cache() -> SecretCache:
    """The process's shared ``SecretCache``, built on first use from the environment
    (``SECRET_ROTATION_*``, ``AWS_*``). One cache per process shares single flight and memory."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SecretCache()
    return _default


def inject_secret(
    secret_id: str,
    *,
    into: str = "secret",
    stage: str = AWSCURRENT,
    transform: Transform = None,
    max_age: float | None = None,
    cache: SecretCache | None = None,
) -> Callable[[Callable[P, R]], Callable[..., R]]:
    """Pass the secret as keyword argument ``into`` (unless the caller passes it).

    ``transform="json"`` passes the parsed object; ``max_age`` and ``stage`` as in
    ``SecretCache.get``. Works on plain and ``async`` functions (the latter never block the
    event loop on Secrets Manager).
    """

    def read(chosen: SecretCache) -> Any:
        return chosen.get(secret_id, stage, transform=transform, max_age=max_age)  # type: ignore[call-overload]

    def decorate(function: Callable[P, R]) -> Callable[..., R]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if into not in kwargs:
                    chosen = cache or default_cache()
                    kwargs[into] = await chosen.aget(secret_id, stage, transform=transform, max_age=max_age)
                return await function(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value] # R is the coroutine the function returns

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            if into not in kwargs:
                kwargs[into] = read(cache or default_cache())
            return function(*args, **kwargs)

        return wrapper

    return decorate
