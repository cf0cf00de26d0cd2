"""The four rotation steps, written once for every kind.

Token rule of the contract, checked by every step: the version named by the token must be
staged AWSPENDING; if it is already AWSCURRENT the step does nothing; anything else is a
``VersionNotPendingError`` and nothing changes.

Secrets Manager calls per happy-path rotation for a kind that reads only its own secret
(HMAC): createSecret 4, setSecret 1, testSecret 1, finishSecret 2 = 8 (AWS's samples: 14).
"""

from __future__ import annotations

from typing import Any

from .errors import PendingValueMissingError, VersionNotPendingError
from .event import RotationEvent, Step
from .stages import AWSCURRENT, AWSPENDING, SecretStore
from .strategy import RotationStrategy, StepContext
from .telemetry import logger


def _already_current(stages: list[str] | tuple[str, ...], event: RotationEvent) -> bool:
    """Apply the token rule to the token's stages: True means the step has nothing to do."""
    if AWSCURRENT in stages:
        logger.info("version is already AWSCURRENT: nothing to do")
        return True
    if AWSPENDING not in stages:
        raise VersionNotPendingError(event.secret_id, event.token, list(stages))
    return False


def _create(strategy: RotationStrategy, context: StepContext, event: RotationEvent) -> None:
    store = context.store
    # Call 1, GetSecretValue(VersionId=token): a retry finds the value written before and stops.
    existing = store.version(event.token)
    if existing is not None:
        if not _already_current(existing.stages, event):
            logger.info("AWSPENDING already has a value: createSecret writes nothing")
        return
    # Call 2, DescribeSecret: a version without a value has stages only in the metadata.
    token_stages = store.stages_by_version().get(event.token)
    if token_stages is None:
        raise VersionNotPendingError(event.secret_id, event.token, None)
    if _already_current(token_stages, event):
        return
    # Call 3, GetSecretValue(AWSCURRENT): the new value keeps every field we do not rotate.
    new_value = strategy.create_value(context.current(), context)
    # Call 4, PutSecretValue: the only write of the rotation's value.
    store.put_pending(event.token, new_value)
    logger.info("created the AWSPENDING value")


def _require_pending_value(context: StepContext, event: RotationEvent) -> bool:
    """setSecret/testSecret: one GetSecretValue validates the token and reads AWSPENDING."""
    version = context.store.version(event.token)
    if version is None:
        # Error path only: one DescribeSecret to say precisely what is wrong.
        token_stages = context.store.stages_by_version().get(event.token)
        if token_stages is None or AWSPENDING not in token_stages:
            raise VersionNotPendingError(event.secret_id, event.token, token_stages)
        raise PendingValueMissingError(event.secret_id, event.token)
    return not _already_current(version.stages, event)


def _finish(strategy: RotationStrategy, context: StepContext, event: RotationEvent) -> None:
    # Call 1, DescribeSecret: the token's stages and the version that holds AWSCURRENT now.
    versions = context.store.stages_by_version()
    token_stages = versions.get(event.token)
    if token_stages is None:
        raise VersionNotPendingError(event.secret_id, event.token, None)
    if _already_current(token_stages, event):
        return
    strategy.finish_secret(context)
    current_version = next((version for version, stages in versions.items() if AWSCURRENT in stages), None)
    # Call 2, UpdateSecretVersionStage: AWSCURRENT moves; the service moves AWSPREVIOUS.
    context.store.promote(event.token, current_version)
    logger.info("moved AWSCURRENT to the new version")


def run_step(strategy: RotationStrategy, store: SecretStore, event: RotationEvent, lambda_context: Any = None) -> None:
    """Run one step of ``event`` for ``strategy`` against ``store`` (``lambda_context``: the
    Lambda context, if any, handed on to the strategy)."""
    context = StepContext(secret_id=event.secret_id, token=event.token, store=store, lambda_context=lambda_context)
    if event.step is Step.CREATE:
        _create(strategy, context, event)
    elif event.step is Step.SET:
        if _require_pending_value(context, event):
            strategy.set_secret(context)
            logger.info("the target accepts AWSPENDING")
    elif event.step is Step.TEST:
        if _require_pending_value(context, event):
            strategy.test_secret(context)
            logger.info("AWSPENDING works against the target")
    else:
        _finish(strategy, context, event)
