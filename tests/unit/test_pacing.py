"""The soak's pacing: a rotation waits for every client to finish a request begun after it."""

from __future__ import annotations

import threading

import pytest

from reliability.pacing import ClientsTooSlowError, RotationPacer


def test_a_request_begun_before_the_rotation_does_not_release_it() -> None:
    pacer = RotationPacer(clients=1)
    pacer.request_finished(0, pacer.request_started())

    with pytest.raises(ClientsTooSlowError, match=r"after rotation 1"):
        pacer.rotation_finished(deadline_s=0.05)


def test_a_request_begun_after_the_rotation_releases_it() -> None:
    pacer = RotationPacer(clients=1)
    errors: list[Exception] = []

    def rotate() -> None:
        try:
            pacer.rotation_finished(deadline_s=10)
        except ClientsTooSlowError as exc:
            errors.append(exc)

    rotator = threading.Thread(target=rotate)
    rotator.start()
    while (started_at := pacer.request_started()) == 0:  # the rotator counts its rotation first
        pass
    pacer.request_finished(0, started_at)
    rotator.join(timeout=10)

    assert not rotator.is_alive()
    assert errors == []


def test_every_client_must_progress() -> None:
    pacer = RotationPacer(clients=2)
    started = [pacer.request_started() for _ in range(2)]
    pacer.request_finished(0, started[0])
    pacer.request_finished(1, started[1])
    with pytest.raises(ClientsTooSlowError, match=r"no request finished within 0\.05 s after rotation 1"):
        pacer.rotation_finished(deadline_s=0.05)


def test_at_least_one_client() -> None:
    with pytest.raises(ValueError, match="clients must be at least 1, got 0"):
        RotationPacer(clients=0)
