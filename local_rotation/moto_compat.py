"""Where moto's Secrets Manager is made to answer as the service does (docs/moto-differences.md).

- Stage an empty version: moto's RotateSecret either runs the rotation Lambda in Docker or,
  without a Lambda, moves AWSCURRENT to a new version that has no value (items 1 and 2). The
  driver instead creates the version the way the service does, with only the AWSPENDING
  label and no value, directly in moto's in-process backend.
- ``GetSecretValue`` without a stage follows AWSCURRENT (item 7).
- ``PutSecretValue`` never rewrites a version that has a value (item 4): the same value again
  is accepted and changes nothing, another value is ``ResourceExistsException``, as the
  service answers; moto overwrites any version labelled AWSPENDING (and with it its labels).
- Version dates: the service dates versions to the millisecond and ``ListSecretVersionIds``
  reports each version's own ``CreatedDate`` (AWS's API examples,
  ``botocore/data/secretsmanager/2017-10-17/examples-1.json``: ``"CreatedDate":
  1523477145.713``); moto dates to the second and lists every version as created *now*
  (items 10 and 12).

This works under ``mock_aws`` and with ``ThreadedMotoServer``, which share the process's
backends. Importing ``local_rotation`` installs the patches once.
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
    secret.versions[token] = {"createdate": now_ms(), "version_id": token, "version_stages": [AWSPENDING]}


def stage_pending_copy_of_current(secret_arn: str, token: str) -> None:
    """Create version ``token`` staged AWSPENDING whose value is a copy of AWSCURRENT: what the
    service stages to test a rotation configuration without rotating (RotateImmediately=false)."""
    secret = _moto_secret(secret_arn)
    current = next((version for version in secret.versions.values() if "AWSCURRENT" in version["version_stages"]), None)
    if current is None:
        raise NotAMotoSecretError(f"secret {secret_arn!r} has no AWSCURRENT version to test the configuration with")
    secret.remove_version_stages_from_old_versions([AWSPENDING])
    copy = {key: value for key, value in current.items() if key in ("secret_string", "secret_binary")}
    secret.versions[token] = {"createdate": now_ms(), "version_id": token, "version_stages": [AWSPENDING], **copy}


def remove_version(secret_arn: str, token: str) -> None:
    """Remove version ``token`` and its labels: the end of a configuration test."""
    _moto_secret(secret_arn).versions.pop(token, None)


def now_ms() -> float:
    """The time as the service stamps versions: epoch seconds to the millisecond."""
    return round(time.time(), 3)


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


def _millisecond_version_dates() -> None:
    """Stamp every version moto writes (CreateSecret, PutSecretValue, UpdateSecret) to the
    millisecond instead of its whole second, so that "created after" comparisons made within
    one second (a rotation's steps run in milliseconds) mean what they mean on AWS."""
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend._add_secret
    if getattr(original, "_millisecond_dates", False):
        return

    def _add_secret(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        stamp = now_ms()
        existing = self.secrets.get(secret_id) if secret_id in self.secrets else None
        before = {version_id: id(version) for version_id, version in (existing.versions if existing else {}).items()}
        secret, new_version = original(self, secret_id, *args, **kwargs)
        for version_id, version in secret.versions.items():
            if before.get(version_id) != id(version) and isinstance(version.get("createdate"), int):
                version["createdate"] = stamp
        return secret, new_version

    _add_secret._millisecond_dates = True  # type: ignore[attr-defined]
    SecretsManagerBackend._add_secret = _add_secret  # type: ignore[method-assign]


def _list_versions_with_their_own_dates() -> Any:
    """moto's ListSecretVersionIds reports ``CreatedDate: now`` for every version, and lists
    versions that hold no value; the service reports when each version was created and "only
    returns versions that contain a secret value" (ListSecretVersionIds API reference; AWS CLI
    reference, list-secret-version-ids). Returns moto's method, for the tests that pin it."""
    import json

    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.list_secret_version_ids
    if getattr(original, "_own_dates", False):
        return original._original  # type: ignore[attr-defined]

    def list_secret_version_ids(self: Any, secret_id: str) -> str:
        answer = json.loads(original(self, secret_id))
        versions = self.secrets[secret_id].versions
        answer["Versions"] = [
            entry
            for entry in answer.get("Versions", [])
            if {"secret_string", "secret_binary"} & versions.get(entry["VersionId"], {}).keys()
        ]
        for entry in answer["Versions"]:
            created = versions.get(entry["VersionId"], {}).get("createdate")
            if created is not None:
                entry["CreatedDate"] = created
        return json.dumps(answer)

    list_secret_version_ids._own_dates = True  # type: ignore[attr-defined]
    list_secret_version_ids._original = original  # type: ignore[attr-defined]
    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids  # type: ignore[method-assign]
    return original


_millisecond_version_dates()
ORIGINAL_LIST_SECRET_VERSION_IDS = _list_versions_with_their_own_dates()


def _versions_are_immutable() -> Any:
    """A version's value is written once: moto exempts versions labelled AWSPENDING from its
    check and overwrites them, labels included, so two overlapping createSecret invocations
    could strip AWSCURRENT from a finished rotation. The service refuses a different value
    ("You can't use ClientRequestToken … because that value is already in use for a version")
    and accepts the same one (PutSecretValue API reference, ClientRequestToken). Returns
    moto's method, for the test that pins it."""
    from moto.secretsmanager.exceptions import ResourceExistsException
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend._check_with_existing_secrets_and_versions
    if getattr(original, "_immutable", False):
        return original._original  # type: ignore[attr-defined]

    def check(
        self: Any,
        secret_name: str,
        client_request_token: str | None,
        secret_string: str | None,
        secret_binary: str | None,
        on_create: bool = False,
    ) -> Any:
        secret = self.secrets.get(secret_name) if secret_name in self.secrets else None
        version = secret.versions.get(client_request_token) if secret is not None and client_request_token else None
        if secret is not None and version is not None and ("secret_string" in version or "secret_binary" in version):
            if version.get("secret_string") == secret_string and version.get("secret_binary") == secret_binary:
                return secret
            raise ResourceExistsException(
                f"You can't use ClientRequestToken {client_request_token} because that value is already in use "
                f"for a version of secret {secret.arn}."
            )
        return original(self, secret_name, client_request_token, secret_string, secret_binary, on_create)

    check._immutable = True  # type: ignore[attr-defined]
    check._original = original  # type: ignore[attr-defined]
    SecretsManagerBackend._check_with_existing_secrets_and_versions = check  # type: ignore[method-assign]
    return original


ORIGINAL_CHECK_EXISTING_VERSIONS = _versions_are_immutable()
