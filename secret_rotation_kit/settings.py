"""Cache and client settings, from arguments or the environment (12-factor apps, containers, Lambda).

| variable | default | meaning |
|---|---|---|
| ``SECRET_ROTATION_TTL`` | 900 | seconds between full reads of a secret |
| ``SECRET_ROTATION_VERSION_CHECK_INTERVAL`` | 30 | seconds between DescribeSecret checks for a rotation |
| ``SECRET_ROTATION_MAX_STALE`` | 900 | seconds a value may be served past its ttl while Secrets Manager fails |
| ``SECRET_ROTATION_RETRY_INTERVAL`` | 5 | first backoff after a failed call (doubles per failure, capped at 60 s) |
| ``SECRET_ROTATION_CONNECT_TIMEOUT`` | 2 | seconds to connect to Secrets Manager (default client only) |
| ``SECRET_ROTATION_READ_TIMEOUT`` | 5 | seconds to wait for its answer (default client only) |
| ``SECRET_ROTATION_MAX_ATTEMPTS`` | 2 | attempts per call, botocore's "standard" retry mode (default client only) |

An argument given to ``SecretCache`` wins over the variable; a variable that is not a number
>= 0 is an error naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

PREFIX = "SECRET_ROTATION_"


@dataclass(frozen=True)
class CacheSettings:
    ttl: float = 900.0
    version_check_interval: float = 30.0
    max_stale: float = 900.0
    retry_interval: float = 5.0
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 2

    @classmethod
    def resolve(cls, **given: float | None) -> CacheSettings:
        """Arguments that are not None, else ``SECRET_ROTATION_<NAME>``, else the default; validated."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            argument = given.get(item.name)
            variable = PREFIX + item.name.upper()
            if argument is not None:
                values[item.name] = _number(item.name, argument)
            elif os.environ.get(variable, "").strip():
                values[item.name] = _number(variable, os.environ[variable].strip())
        if "max_attempts" in values:
            attempts = values["max_attempts"]
            if attempts != int(attempts) or attempts < 1:
                raise ValueError(f"{PREFIX}MAX_ATTEMPTS must be a whole number >= 1, got {attempts!r}")
            values["max_attempts"] = int(attempts)
        for name in ("connect_timeout", "read_timeout"):
            if values.get(name) == 0:
                raise ValueError(f"{name} must be more than 0 seconds (0 would wait forever)")
        return cls(**values)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of seconds >= 0, got bool {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}") from None
    if not isinstance(value, int | float) or value != value or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {type(value).__name__} {value!r}")
    return float(value)
