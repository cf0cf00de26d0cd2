"""Pace back-to-back rotations by the clients' progress instead of by a clock.

A value read as AWSCURRENT stays valid while it is AWSCURRENT and for one more rotation as
AWSPREVIOUS; the rotation after that may retire it (alternating users change that role's
password, Valkey drops the password from two rotations back). In production rotations are
days apart and a request takes milliseconds. A compressed schedule keeps that ordering by
letting the next rotation start only once every client has finished a request that began
after the previous rotation ended: a request never spans two whole rotations, and no sleep
stands in for it.
"""

from __future__ import annotations

import threading


class ClientsTooSlowError(RuntimeError):
    """No request finished within the deadline: the clients are stuck, not merely slow."""


class RotationPacer:
    """Shared by the rotating thread and ``clients`` client threads (numbered from 0)."""

    def __init__(self, clients: int) -> None:
        if clients < 1:
            raise ValueError(f"clients must be at least 1, got {clients}")
        self._condition = threading.Condition()
        self._rotations = 0
        self._finished = [-1] * clients  # per client: the newest rotation count a finished request began at

    def request_started(self) -> int:
        """Call as a request begins; pass the result to ``request_finished``."""
        with self._condition:
            return self._rotations

    def request_finished(self, client: int, started_at: int) -> None:
        with self._condition:
            self._finished[client] = max(self._finished[client], started_at)
            self._condition.notify_all()

    def rotation_finished(self, *, deadline_s: float = 30.0) -> None:
        """Count a rotation, then wait until every client has finished a request begun after it."""
        with self._condition:
            self._rotations += 1
            target = self._rotations
            if not self._condition.wait_for(lambda: min(self._finished) >= target, timeout=deadline_s):
                raise ClientsTooSlowError(f"no request finished within {deadline_s} s after rotation {target}")
