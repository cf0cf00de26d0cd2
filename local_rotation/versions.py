"""Show a secret's versions without showing a value: id, stages, fingerprint, creation date."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

_STAGE_ORDER = {"AWSPENDING": 0, "AWSCURRENT": 1, "AWSPREVIOUS": 2}


def fingerprint(value: str) -> str:
    """First 12 hex characters of SHA-256: enough to tell versions apart, useless to an attacker
    for the high-entropy values this project generates."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class VersionRow:
    """One version of a secret as an operator may see it."""

    version_id: str
    stages: tuple[str, ...]
    fingerprint: str | None
    created: datetime | None


def version_rows(client: Any, secret_id: str) -> list[VersionRow]:
    """Every version that still has a stage (pending, current, previous first), with its fingerprint."""
    response = client.list_secret_version_ids(SecretId=secret_id)
    rows = []
    for version in response.get("Versions", []):
        stages = tuple(version.get("VersionStages", ()))
        if not stages:
            continue
        try:
            value = client.get_secret_value(SecretId=secret_id, VersionId=version["VersionId"]).get("SecretString")
        except ClientError:
            value = None
        rows.append(
            VersionRow(
                version_id=version["VersionId"],
                stages=stages,
                fingerprint=fingerprint(value) if value is not None else None,
                created=version.get("CreatedDate"),
            )
        )
    rows.sort(key=lambda row: min(_STAGE_ORDER.get(stage, len(_STAGE_ORDER)) for stage in row.stages))
    return rows


def format_version_table(rows: list[VersionRow]) -> str:
    """A fixed-width text table of ``version_rows``."""
    lines = [f"{'version':<38} {'stages':<26} fingerprint"]
    for row in rows:
        lines.append(f"{row.version_id:<38} {','.join(row.stages):<26} {row.fingerprint or '(no value)'}")
    return "\n".join(lines)
