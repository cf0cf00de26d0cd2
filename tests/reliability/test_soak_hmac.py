"""Short zero-downtime soak for HMAC keys (the long one is `python -m bench reliability`)."""

from __future__ import annotations

from typing import Any

from reliability import soak
from reliability.kinds.hmac_key import HmacKeyHarness


def test_clients_see_no_failure_while_the_key_rotates_twenty_times(secretsmanager: Any) -> None:
    harness = HmacKeyHarness()
    arn = harness.create_secret(secretsmanager, "reliability/hmac/soak")

    result = soak(harness, secretsmanager, arn, rotations=20, workers=2)

    assert result.rotations == 20
    assert result.rotation_failures == 0
    assert result.requests > 0
    assert (result.failures, dict(result.failure_reasons)) == (0, {})
