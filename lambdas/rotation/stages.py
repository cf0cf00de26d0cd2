"""Secrets Manager reads and writes of one rotation, with the fewest calls that keep the contract.

Each invocation gets a fresh ``SecretStore``; values read are cached for that invocation only,
so a strategy that asks for AWSPENDING twice costs one call. Every method says which step
needs it and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import InvalidSecretError, SecretsManagerError
from .secret_json import SecretDict, parse_secret_string

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"
AWSPREVIOUS = "AWSPREVIOUS"


@dataclass(frozen=True)
class SecretVersion:
    """One version as GetSecretValue returned it (the value stays inside this object)."""

    version_id: str
    stages: tuple[str, ...]
    secret_string: str | None
    created: datetime | None = None


def _describe_error(operation: str, secret_id: str, exc: Exception) -> SecretsManagerError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return SecretsManagerError(f"Secrets Manager {operation} on secret {secret_id!r} failed ({detail})")


def _is_not_found(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException")


class SecretStore:
    """Reads and writes of one secret's versions for one step invocation."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self.secret_id = secret_id
        self._versions: dict[str, SecretVersion | None] = {}
        self._by_stage: dict[str, SecretVersion | None] = {}

    def _get(self, secret_id: str, **selector: str) -> SecretVersion | None:
        try:
            response = self._client.get_secret_value(SecretId=secret_id, **selector)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise _describe_error("GetSecretValue", secret_id, exc) from None
        except BotoCoreError as exc:
            raise _describe_error("GetSecretValue", secret_id, exc) from None
        return SecretVersion(
            version_id=response["VersionId"],
            stages=tuple(response.get("VersionStages", ())),
            secret_string=response.get("SecretString"),
            created=response.get("CreatedDate"),
        )

    def version(self, token: str) -> SecretVersion | None:
        """The token's version with its value and stages, or None if it has no value yet.

        One GetSecretValue both validates the token's stages and fetches AWSPENDING, which is
        why setSecret and testSecret need no DescribeSecret.
        """
        if token not in self._versions:
            found = self._get(self.secret_id, VersionId=token)
            self._versions[token] = found
            if found is not None:
                for stage in found.stages:
                    self._by_stage.setdefault(stage, found)
        return self._versions[token]

    def at_stage(self, stage: str) -> SecretVersion | None:
        """The version holding ``stage`` (AWSCURRENT, AWSPREVIOUS), or None if no version does."""
        if stage not in self._by_stage:
            found = self._get(self.secret_id, VersionStage=stage)
            self._by_stage[stage] = found
            if found is not None:
                self._versions.setdefault(found.version_id, found)
        return self._by_stage[stage]

    def value_at_stage(self, stage: str) -> SecretDict:
        """The JSON object stored at ``stage``; a missing version or value is an error naming it."""
        found = self.at_stage(stage)
        if found is None:
            raise InvalidSecretError(self.secret_id, stage, None, "is missing: no version holds this stage")
        return parse_secret_string(found.secret_string, secret_id=self.secret_id, stage=stage)

    def other_secret(self, secret_id: str) -> SecretDict:
        """AWSCURRENT of another secret, e.g. the admin secret named by ``masterarn``."""
        found = self._get(secret_id, VersionStage=AWSCURRENT)
        if found is None:
            raise InvalidSecretError(secret_id, AWSCURRENT, None, "is missing: the secret or its value was not found")
        return parse_secret_string(found.secret_string, secret_id=secret_id, stage=AWSCURRENT)

    def stages_by_version(self) -> dict[str, list[str]]:
        """DescribeSecret's VersionIdsToStages: needed where no value is read (create, finish)."""
        try:
            response = self._client.describe_secret(SecretId=self.secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise _describe_error("DescribeSecret", self.secret_id, exc) from None
        return {version: list(stages) for version, stages in response.get("VersionIdsToStages", {}).items()}

    def put_pending(self, token: str, value: SecretDict) -> None:
        """Write the new value as the token's version, staged AWSPENDING (createSecret's one write)."""
        try:
            self._client.put_secret_value(
                SecretId=self.secret_id,
                ClientRequestToken=token,
                SecretString=json.dumps(value),
                VersionStages=[AWSPENDING],
            )
        except (ClientError, BotoCoreError) as exc:
            raise _describe_error("PutSecretValue", self.secret_id, exc) from None

    def promote(self, token: str, current_version_id: str | None) -> None:
        """Move AWSCURRENT to the token's version; Secrets Manager moves AWSPREVIOUS itself.

        Two invocations of finishSecret for one rotation can overlap (Lambda's asynchronous
        invocations are at least once; two operators' ``rotate-secret`` reattempt the same
        token): the second one's ``RemoveFromVersionId`` then names a version that no longer
        holds AWSCURRENT and the service refuses. If the token's version holds AWSCURRENT by
        then, the step's work is done.
        """
        arguments: dict[str, str] = {"SecretId": self.secret_id, "VersionStage": AWSCURRENT, "MoveToVersionId": token}
        if current_version_id is not None:
            arguments["RemoveFromVersionId"] = current_version_id
        try:
            self._client.update_secret_version_stage(**arguments)
        except ClientError as exc:
            if AWSCURRENT in self.stages_by_version().get(token, []):
                return
            raise _describe_error("UpdateSecretVersionStage", self.secret_id, exc) from None
        except BotoCoreError as exc:
            raise _describe_error("UpdateSecretVersionStage", self.secret_id, exc) from None
