"""boto3 clients built the default way, with explicit timeouts and standard retries.

Built the default way so that ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``,
``AWS_DEFAULT_REGION`` and moto's ``mock_aws`` work unchanged. Clients are cached per
process, keyed by everything that decides where they talk to, so a warm Lambda reuses its
client while a test that swaps the endpoint or the moto session gets a fresh one.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

from .calls import record_call

# Far below any rotation Lambda timeout (the CDK app sets >= 60 s): with 3 attempts a dead
# endpoint costs at most about 3 * (2 + 5) s.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},  # 3 in all (max_attempts would count retries)
)

_REGION_KEYS = ("AWS_DEFAULT_REGION", "AWS_REGION")
_clients: dict[tuple[str, str | None], tuple[tuple[object, ...], Any]] = {}
_clients_lock = threading.Lock()


def _record_operation(model: Any, **_: Any) -> None:
    record_call(f"{model.service_model.service_name}.{model.name}")


def _client_key() -> tuple[object, ...]:
    """Everything that decides where a default-built client talks to."""
    endpoints = sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_ENDPOINT_URL"))
    return (id(boto3.DEFAULT_SESSION), *(os.environ.get(name) for name in _REGION_KEYS), *endpoints)


def aws_client(service: str, region: str | None = None) -> Any:
    """Return a (cached) boto3 client for ``service`` whose every call is recorded; in ``region``
    when given (the rotation-age check reads replicas), else the default Region."""
    with _clients_lock:
        cached = _clients.get((service, region))
        if cached is not None and cached[0] == _client_key():
            return cached[1]
        client = boto3.client(service, region_name=region, config=AWS_CLIENT_CONFIG)  # type: ignore[call-overload]
        client.meta.events.register("before-call.*.*", _record_operation)
        # Key after creating: boto3.client() may have just created the default session.
        _clients[(service, region)] = (_client_key(), client)
        return client
