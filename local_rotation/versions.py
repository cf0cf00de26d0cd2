"""Show a secret's versions without reading a value: id, stages, creation date.

No digest of a value is shown: a hash of a password lets anyone who guesses the password
confirm it offline. Version ids already tell versions apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

_STAGE_ORDER = {"AWSPENDING": 0, "AWSCURRENT": 1, "AWSPREVIOUS": 2}


@dataclass(frozen=True)
class VersionRow:
    """One version of a secret as an operator may see it."""

    version_id: str
    stages: tuple[str, ...]
    created: datetime | None


def version_rows(client: Any, secret_id: str) -> list[VersionRow]:
    """Every version that still has a stage (pending, current, previous first), from
    ListSecretVersionIds only: no GetSecretValue, so no value is decrypted to list them."""
    response = client.list_secret_version_ids(SecretId=secret_id)
    rows = [
        VersionRow(version_id=version["VersionId"], stages=stages, created=version.get("CreatedDate"))
        for version in response.get("Versions", [])
        if (stages := tuple(version.get("VersionStages", ())))
    ]
    rows.sort(key=lambda row: min(_STAGE_ORDER.get(stage, len(_STAGE_ORDER)) for stage in row.stages))
    return rows


def format_version_table(rows: list[VersionRow]) -> str:
    """A fixed-width text table of ``version_rows``."""
    lines = [f"{'version':<38} {'stages':<26} created"]
    for row in rows:
        created = row.created.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if row.created else "-"
        lines.append(f"{row.version_id:<38} {','.join(row.stages):<26} {created}")
    return "\n".join(lines)
