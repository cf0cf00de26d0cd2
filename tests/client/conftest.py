"""Fixtures of the consumer library tests: the counted fake Secrets Manager and a hand-moved clock."""

from __future__ import annotations

import pytest

from tests.client.fakes import FIRST, NAME, FakeClock, FakeSecretsManager


@pytest.fixture
def fake() -> FakeSecretsManager:
    """One secret, ``NAME``, whose AWSCURRENT is ``FIRST``."""
    return FakeSecretsManager(NAME, FIRST)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
