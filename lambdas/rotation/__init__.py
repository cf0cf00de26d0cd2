"""The shared rotation core: one implementation of the four steps, a strategy per kind."""

from .calls import LEDGER, record_call
from .errors import (
    ConfigurationError,
    InvalidEventError,
    InvalidSecretError,
    PendingSecretTestFailedError,
    PendingValueMissingError,
    RotationError,
    SecretsManagerError,
    TargetAuthenticationError,
    TargetError,
    TargetUnreachableError,
    UnknownStepError,
    VersionNotPendingError,
)
from .event import RotationEvent, Step, parse_event
from .handler import make_lambda_handler
from .secret_json import SecretDict, SecretFields
from .strategy import RotationStrategy, StepContext

__all__ = [
    "LEDGER",
    "ConfigurationError",
    "InvalidEventError",
    "InvalidSecretError",
    "PendingSecretTestFailedError",
    "PendingValueMissingError",
    "RotationError",
    "RotationEvent",
    "RotationStrategy",
    "SecretDict",
    "SecretFields",
    "SecretsManagerError",
    "Step",
    "StepContext",
    "TargetAuthenticationError",
    "TargetError",
    "TargetUnreachableError",
    "UnknownStepError",
    "VersionNotPendingError",
    "make_lambda_handler",
    "parse_event",
    "record_call",
]
