"""Local Secrets Manager rotation: the service's rotate-secret behaviour on top of moto."""

from .driver import RotationDriver, RotationFailedError, RotationReport, StepReport
from .moto_compat import NotAMotoSecretError, stage_empty_pending_version
from .replication import hold_replication, set_replica_status
from .versions import VersionRow, format_version_table, version_rows

__all__ = [
    "NotAMotoSecretError",
    "RotationDriver",
    "RotationFailedError",
    "RotationReport",
    "StepReport",
    "VersionRow",
    "format_version_table",
    "hold_replication",
    "set_replica_status",
    "stage_empty_pending_version",
    "version_rows",
]
