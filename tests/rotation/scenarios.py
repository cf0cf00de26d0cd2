"""Scenarios every server-backed kind is tested with, written once: a step run twice, a step
that fails once (then the service-style retry), and a client that keeps using AWSCURRENT
during rotations."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from local_rotation import RotationDriver, RotationReport, stage_empty_pending_version
from reliability.pacing import RotationPacer

Handler = Callable[[dict[str, Any], Any], Any]
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotate_running_a_step_twice(handler: Handler, secret_arn: str, step: str) -> str:
    """One rotation, by hand, in which ``step`` runs twice in a row (as when the service
    retries a step whose response was lost); returns the rotation's token."""
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret_arn, token)
    for name in (*STEPS[: STEPS.index(step) + 1], step, *STEPS[STEPS.index(step) + 1 :]):
        handler({"SecretId": secret_arn, "ClientRequestToken": token, "Step": name}, None)
    return token


def rotate_with_failing_step(handler: Handler, secret_arn: str, failing_step: str) -> RotationReport:
    """One rotation whose ``failing_step`` raises once, without the driver's retries: what
    the secret looks like after the service's attempt failed."""

    def faulty(event: dict[str, Any], context: Any) -> None:
        if event["Step"] == failing_step:
            raise RuntimeError("injected")
        handler(event, context)

    return RotationDriver(faulty, attempts_per_step=1).rotate(secret_arn, raise_on_failure=False)


def outcomes_during_rotations(
    handler: Handler, client: Any, secret_arn: str, uses_value: Callable[[dict[str, Any]], bool], rotations: int = 5
) -> list[bool]:
    """Rotate ``rotations`` times while a thread reads AWSCURRENT and uses it on the target;
    one outcome per use. Rotations are paced so that no use spans two whole rotations
    (``RotationPacer``: in production they are days apart). Such an application must never fail."""
    stop = threading.Event()
    outcomes: list[bool] = []
    pacer = RotationPacer(clients=1)

    def application() -> None:
        while not stop.is_set():
            started_at = pacer.request_started()
            value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
            outcomes.append(uses_value(value))
            pacer.request_finished(0, started_at)

    worker = threading.Thread(target=application)
    worker.start()
    try:
        driver = RotationDriver(handler)
        for _ in range(rotations):
            driver.rotate(secret_arn)
            pacer.rotation_finished()
    finally:
        stop.set()
        worker.join(timeout=30)
    return outcomes
