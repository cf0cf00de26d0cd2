"""The emulated Secrets Manager rotation service (local_rotation.service_hook) for one test:
one function registered under a fixed ARN, its events readable, every background rotation or
configuration test finished before the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_rotation.service_hook import (
    clear_service_events,
    register_rotation_function,
    service_events,
    unregister_rotation_function,
    wait_for_rotations,
)

SERVICE_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:emulated-service"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class RotationService:
    client: Any

    def turn_on_rotation(self, secret_arn: str, handler: Handler, *, rotate_immediately: bool) -> list[str]:
        """RotateSecret as the CDK's rotation schedule issues it; returns the service's events."""
        register_rotation_function(SERVICE_FUNCTION, handler)
        self.client.rotate_secret(
            SecretId=secret_arn,
            RotationLambdaARN=SERVICE_FUNCTION,
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=rotate_immediately,
        )
        assert wait_for_rotations(60)
        return [event["eventName"] for event in service_events(secret_arn)]


@pytest.fixture
def rotation_service(secretsmanager: Any) -> Iterator[RotationService]:
    clear_service_events()
    yield RotationService(secretsmanager)
    assert wait_for_rotations(60)
    unregister_rotation_function(SERVICE_FUNCTION)
    clear_service_events()
