"""What the reliability suite needs to know about a kind, and nothing else.

A harness creates a secret for its kind against whatever it needs (moto, a real server),
says whether a secret value authenticates against the real target, lists what a rotation
may have left behind, and builds the exception a library would raise at a call point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError, ReadTimeoutError

if TYPE_CHECKING:
    from .consumers import Consumer

Handler = Callable[[dict[str, Any], Any], Any]
FaultMode = Literal["error", "timeout"]


def aws_fault(point: str, mode: FaultMode) -> Exception:
    """What botocore raises for a failed AWS call (after its own retries) or a read timeout."""
    operation = point.split(".", 1)[1]
    fault: Exception
    if mode == "timeout":
        fault = ReadTimeoutError(endpoint_url=f"http://127.0.0.1/{operation}")
    else:
        fault = ClientError({"Error": {"Code": "InternalFailure", "Message": "injected fault"}}, operation)
    return fault


class KindHarness(ABC):
    """One secret kind, seen from outside its rotation function."""

    kind: str
    handler: Handler
    # postgres_single is the one kind whose AWSPREVIOUS stops working, and whose AWSCURRENT
    # stops between setSecret and finishSecret while AWSPENDING works (documented).
    previous_stays_valid: bool = True
    current_valid_mid_rotation: bool = True

    @abstractmethod
    def create_secret(self, client: Any, name: str) -> str:
        """Create a working secret (and whatever the target needs); return its ARN."""

    @abstractmethod
    def authenticates(self, client: Any, secret_arn: str, value: dict[str, Any]) -> bool:
        """True when ``value`` (one version's JSON) is accepted by the real target now."""

    def orphans(self, client: Any, secret_arn: str) -> list[str]:
        """Anything a finished rotation should not have left: the default checks the secret's
        versions (no stray AWSPENDING, at most one AWSCURRENT and one AWSPREVIOUS)."""
        stages = client.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
        problems = []
        for version, labels in stages.items():
            if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
                problems.append(f"version {version} still staged AWSPENDING")
        for label in ("AWSCURRENT", "AWSPREVIOUS"):
            holders = [version for version, labels in stages.items() if label in labels]
            if len(holders) > 1:
                problems.append(f"{label} on {len(holders)} versions")
        return problems

    @abstractmethod
    def client_request(self, client: Any, secret_arn: str) -> None:
        """One application request the way a client does it during a rotation: read AWSCURRENT,
        use it against the target; raise on failure."""

    def consumer(self, cache: Any, secret_arn: str) -> Consumer:
        """The application side through the consumer library (``reliability.consumers``)."""
        raise NotImplementedError(f"{type(self).__name__} has no consumer")

    def log_paths(self) -> list[str]:
        """Server logs of the kind's targets, for the leak scan; none by default."""
        return []

    def fault(self, point: str, mode: FaultMode) -> Exception:
        """The exception the real library raises at ``point``; kinds override for their targets."""
        if point.startswith(("secretsmanager.", "elasticache.")):
            return aws_fault(point, mode)
        raise NotImplementedError(f"{type(self).__name__} has no fault for call point {point!r}")

    def names_failure(self, point: str, message: str) -> bool:
        """Whether an error message names what failed at ``point`` (AWS: the operation)."""
        return point.split(".", 1)[1] in message
