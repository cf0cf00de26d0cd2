"""What the real Secrets Manager does on RotateSecret that moto cannot: stage an empty version.

moto's RotateSecret either runs the rotation Lambda in Docker or, without a Lambda, moves
AWSCURRENT to a new version that has no value (docs/moto-differences.md, items 1 and 2).
The driver instead creates the version the way the service does, with only the AWSPENDING
label and no value, directly in moto's in-process backend. This works under ``mock_aws``
and with ``ThreadedMotoServer``, which share the process's backends.
"""

from __future__ import annotations

import time
from typing import Any

AWSPENDING = "AWSPENDING"


class NotAMotoSecretError(RuntimeError):
    """The secret is not held by an in-process moto backend (the driver is local-only)."""


def _arn_parts(secret_arn: str) -> tuple[str, str]:
    parts = secret_arn.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise NotAMotoSecretError(f"expected a Secrets Manager secret ARN, got {secret_arn!r}")
    return parts[3], parts[4]


def _moto_secret(secret_arn: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    region, account = _arn_parts(secret_arn)
    backend = secretsmanager_backends[account][region]
    if secret_arn not in backend.secrets:
        raise NotAMotoSecretError(
            f"secret {secret_arn!r} is not in this process's moto backend; the local driver needs "
            "mock_aws or a ThreadedMotoServer running in the same process"
        )
    return backend.secrets[secret_arn]


def stage_empty_pending_version(secret_arn: str, token: str) -> None:
    """Create version ``token`` with the AWSPENDING label and no value, as RotateSecret does."""
    secret = _moto_secret(secret_arn)
    secret.remove_version_stages_from_old_versions([AWSPENDING])
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": [AWSPENDING]}


def _update_default_version_with_awscurrent() -> Any:
    """moto answers GetSecretValue without a stage from ``default_version_id``, which its
    UpdateSecretVersionStage never moves (docs/moto-differences.md, item 7). The service
    answers with AWSCURRENT, so wrap the backend call to keep the two together."""
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage
    if getattr(original, "_follows_awscurrent", False):
        return original._original  # type: ignore[attr-defined]

    def update_secret_version_stage(
        self: Any, secret_id: str, version_stage: str, remove_from_version_id: str, move_to_version_id: str
    ) -> Any:
        result = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    update_secret_version_stage._follows_awscurrent = True  # type: ignore[attr-defined]
    update_secret_version_stage._original = original  # type: ignore[attr-defined]
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]
    return original


# The unpatched moto method, kept so that a test can pin moto's own behaviour.
ORIGINAL_UPDATE_SECRET_VERSION_STAGE = _update_default_version_with_awscurrent()
