"""What a secret kind must say; the four steps themselves live once, in ``steps.py``.

A kind subclasses ``RotationStrategy`` and writes only what is specific to it: how to make
the new value, how to apply it to the target, how to prove it works. A new kind is one
strategy file and one three-line handler file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import PendingValueMissingError
from .secret_json import SecretDict, SecretFields, parse_secret_string
from .stages import AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretStore


@dataclass
class StepContext:
    """One step invocation: the secret, the token and lazy, cached reads of its versions.

    ``lambda_context`` is the Lambda context the handler got (``None`` when a caller passes
    none): kinds that wait on a target bound their waits by its remaining time.
    """

    secret_id: str
    token: str
    store: SecretStore
    lambda_context: Any = None

    def current(self) -> SecretFields:
        """AWSCURRENT's fields (one GetSecretValue, cached for this invocation)."""
        return SecretFields(self.store.value_at_stage(AWSCURRENT), self.secret_id, AWSCURRENT)

    def pending(self) -> SecretFields:
        """The token's AWSPENDING fields (already read by the step's token check: no extra call)."""
        version = self.store.version(self.token)
        if version is None:
            raise PendingValueMissingError(self.secret_id, self.token)
        values = parse_secret_string(version.secret_string, secret_id=self.secret_id, stage=AWSPENDING)
        return SecretFields(values, self.secret_id, AWSPENDING)

    def previous(self) -> SecretFields | None:
        """AWSPREVIOUS's fields, or None when the secret was never rotated."""
        if self.store.at_stage(AWSPREVIOUS) is None:
            return None
        return SecretFields(self.store.value_at_stage(AWSPREVIOUS), self.secret_id, AWSPREVIOUS)

    def other_secret(self, secret_id: str) -> SecretFields:
        """AWSCURRENT of another secret, such as the admin secret named by ``masterarn``."""
        return SecretFields(self.store.other_secret(secret_id), secret_id, AWSCURRENT)


class RotationStrategy(ABC):
    """The kind-specific part of a rotation."""

    kind: ClassVar[str]

    @abstractmethod
    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        """createSecret: validate AWSCURRENT and return the complete new value (unknown fields kept)."""

    def set_secret(self, context: StepContext) -> None:  # noqa: B027 - optional hook
        """setSecret: make the target accept AWSPENDING while AWSCURRENT keeps working."""

    @abstractmethod
    def test_secret(self, context: StepContext) -> None:
        """testSecret: prove AWSPENDING works; raise ``PendingSecretTestFailedError`` if not."""

    def finish_secret(self, context: StepContext) -> None:  # noqa: B027 - optional hook
        """finishSecret: anything the target needs before AWSCURRENT moves (most kinds: nothing)."""
