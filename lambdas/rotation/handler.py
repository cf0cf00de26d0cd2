"""Turn a strategy into a Lambda handler: parse, log, time, count, run the step."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .aws import aws_client
from .event import parse_event
from .stages import SecretStore
from .steps import run_step
from .strategy import RotationStrategy
from .telemetry import logger, record_step_outcome

LambdaHandler = Callable[[Any, Any], None]


def make_lambda_handler(kind: str, build_strategy: Callable[[], RotationStrategy]) -> LambdaHandler:
    """Return ``lambda_handler(event, context)`` for one kind.

    ``build_strategy`` runs on every invocation, so a bad environment variable fails every
    step with an error naming it, and tests can change the environment between calls.
    """

    def lambda_handler(event: Any, context: Any) -> None:
        started = time.perf_counter()
        logger.clear_state()
        logger.append_keys(kind=kind)
        if context is not None and hasattr(context, "aws_request_id"):
            logger.append_keys(request_id=context.aws_request_id)
        step_name = event.get("Step") if isinstance(event, dict) else None
        try:
            rotation_event = parse_event(event)
            logger.append_keys(
                secret_arn=rotation_event.secret_id, step=rotation_event.step.value, token=rotation_event.token
            )
            strategy = build_strategy()
            store = SecretStore(aws_client("secretsmanager"), rotation_event.secret_id)
            run_step(strategy, store, rotation_event, context)
        except Exception as exc:
            # The message is ours or the SDK's and carries no value; the traceback shows code only.
            logger.exception("step failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
            record_step_outcome(
                kind=kind, step=str(step_name), succeeded=False, duration_ms=(time.perf_counter() - started) * 1000
            )
            raise
        duration_ms = (time.perf_counter() - started) * 1000
        logger.info("step succeeded", extra={"duration_ms": round(duration_ms, 2)})
        record_step_outcome(kind=kind, step=rotation_event.step.value, succeeded=True, duration_ms=duration_ms)

    return lambda_handler
