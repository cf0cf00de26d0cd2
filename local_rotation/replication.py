"""Replica secrets in moto, with the two things AWS does that moto's model does not show.

moto models replicas (``ReplicaSecret``): created by ``AddReplicaRegions`` /
``ReplicateSecretToRegions``, found by the primary's ARN with the replica Region, refused for
every write (``OperationNotPermittedOnReplica``), listed in the primary's ``ReplicationStatus``.
But a moto replica *is* its primary's version table, so a rotation shows in it at once and its
status never changes. On AWS, replication is "asynchronous and eventually consistent, so the
replica might not reflect the latest value immediately" (user guide, "How Secrets Manager
authorizes cross-account replication"), and ``ReplicationStatus[].Status`` can be
``InProgress`` or ``Failed`` with a ``StatusMessage`` (DescribeSecret). The helpers here
emulate both, in the process's moto backends (``mock_aws`` or ``ThreadedMotoServer``):

- ``hold_replication(arn, region)``: while held, the replica in ``region`` shows the versions,
  labels and LastChangedDate it had when the hold began; the primary rotates on. On exit it
  catches up, as replication does.
- ``set_replica_status(arn, region, status, message)``: what DescribeSecret of the primary
  reports for that replica.

And one difference fixed on import: moto reports every replica's ``KmsKeyId`` as
``alias/aws/secretsmanager`` whatever ``AddReplicaRegions`` named; the service reports the key
the replica is encrypted with (``ReplicationStatusType.KmsKeyId``: "an ARN, Key ID, or Alias").
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .moto_compat import NotAMotoSecretError, _arn_parts


def _primary_and_replica(primary_arn: str, region: str) -> tuple[Any, Any, Any]:
    from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

    primary_region, account = _arn_parts(primary_arn)
    primary = secretsmanager_backends[account][primary_region].secrets.get(primary_arn)
    if not isinstance(primary, FakeSecret):
        raise NotAMotoSecretError(f"{primary_arn!r} is not a primary secret in this process's moto backend")
    replica = next((r for r in primary.replicas if r.region == region), None)
    if replica is None:
        raise NotAMotoSecretError(f"secret {primary_arn!r} has no replica in {region}")
    return primary, replica, secretsmanager_backends[account][region]


def set_replica_status(primary_arn: str, region: str, status: str, message: str) -> None:
    """Make the primary's ReplicationStatus report ``status`` / ``message`` for ``region``."""
    _, replica, _ = _primary_and_replica(primary_arn, region)
    replica.status = status
    replica.message = message
    replica.config.update({"Status": status, "StatusMessage": message})


def _held_replica_class() -> type:
    from moto.secretsmanager.models import ReplicaSecret

    class HeldReplica(ReplicaSecret):  # type: ignore[misc]
        """A replica whose versions stay as they were when replication was held."""

        def __init__(self, live: Any) -> None:
            self.__dict__.update(live.__dict__)  # same source, region, ARN and status object
            self._versions = copy.deepcopy(live.source.versions)
            self._default_version_id = live.source.default_version_id
            self._last_changed = live.source.last_changed_date

        @property
        def versions(self) -> dict[str, dict[str, Any]]:  # type: ignore[override]
            return self._versions  # type: ignore[no-any-return]

        @property
        def default_version_id(self) -> str | None:  # type: ignore[override]
            return self._default_version_id  # type: ignore[no-any-return]

        def to_dict(self) -> dict[str, Any]:
            described = super().to_dict()
            stages = {version_id: list(v["version_stages"]) for version_id, v in self._versions.items()}
            described.update(
                VersionIdsToStages=stages, SecretVersionsToStages=stages, LastChangedDate=self._last_changed
            )
            return described  # type: ignore[no-any-return]

    return HeldReplica


def _replicas_keep_their_kms_key() -> None:
    from moto.secretsmanager.models import FakeSecret

    original = FakeSecret.create_replicas
    if getattr(original, "_keeps_kms_key", False):
        return

    def create_replicas(self: Any, replica_regions: list[dict[str, str]], force_overwrite: bool) -> list[Any]:
        replicas = original(self, replica_regions, force_overwrite=force_overwrite)
        for replica, requested in zip(replicas, replica_regions or [], strict=True):
            if requested.get("KmsKeyId"):
                replica.config["KmsKeyId"] = requested["KmsKeyId"]
        return replicas  # type: ignore[no-any-return]

    create_replicas._keeps_kms_key = True  # type: ignore[attr-defined]
    FakeSecret.create_replicas = create_replicas  # type: ignore[method-assign]


_replicas_keep_their_kms_key()


@contextmanager
def hold_replication(primary_arn: str, region: str) -> Iterator[None]:
    """Freeze what the replica in ``region`` shows until the block ends (then it catches up)."""
    _, replica, backend = _primary_and_replica(primary_arn, region)
    held = _held_replica_class()(replica)
    backend.secrets[replica.arn] = held
    try:
        yield
    finally:
        backend.secrets[replica.arn] = replica
