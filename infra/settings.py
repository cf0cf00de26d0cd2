"""The environment variables one secret's rotation needs. Functions are configured by their
environment (docs/CONTRACT.md), so secrets whose variables differ rotate in different
functions: one function per (kind, settings) group, never another secret's settings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from infra.config import ELASTICACHE_KINDS, NETWORKED_KINDS, EnvironmentConfig, SecretConfig

LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the function's deployment package
CA_DIRECTORY = "ca"


@dataclass(frozen=True)
class TlsChoice:
    ca_bundle: Path | None  # None: the Lambda runtime's CA bundle
    mode: str


def tls_choice(config: EnvironmentConfig, secret: SecretConfig) -> TlsChoice:
    """The secret's ``tls`` over the environment's."""
    override = secret.tls
    bundle = (override.ca_bundle if override and override.ca_bundle else None) or config.tls.ca_bundle
    mode = (override.mode if override and override.mode else None) or config.tls.mode
    return TlsChoice(ca_bundle=None if bundle == "runtime" else Path(bundle), mode=mode)


def ca_asset_path(bundle: Path) -> str:
    """Where a CA bundle goes in the function asset: named by its content, so two bundles never
    collide and an edited bundle is a new file."""
    return f"{CA_DIRECTORY}/{hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]}.pem"


def function_settings(config: EnvironmentConfig, secret: SecretConfig) -> dict[str, str]:
    """The variables that make ``secret`` rotate with its own settings."""
    if secret.kind == "hmac_key":
        target = secret.target
        return {"HMAC_FIELDS": ",".join(target.fields), "HMAC_KEY_BYTES": str(target.key_bytes)}
    settings: dict[str, str] = {}
    if secret.password is not None:
        settings["PASSWORD_LENGTH"] = str(secret.password.length)
        settings["EXCLUDE_CHARACTERS"] = secret.password.exclude_characters
    if secret.kind in NETWORKED_KINDS:
        tls = tls_choice(config, secret)
        settings["SSL_MODE"] = tls.mode
        if tls.ca_bundle is not None:
            settings["CA_BUNDLE_PATH"] = f"{LAMBDA_TASK_ROOT}/{ca_asset_path(tls.ca_bundle)}"
    if secret.kind in ELASTICACHE_KINDS:
        settings["ELASTICACHE_WAIT_SECONDS"] = str(config.elasticache_wait_seconds)
    return settings


def settings_digest(kind: str, settings: dict[str, str]) -> str:
    """Eight hex characters that name a (kind, settings) group, the same on every synth."""
    text = kind + "\0" + "\0".join(f"{key}={value}" for key, value in sorted(settings.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def ca_bundles(config: EnvironmentConfig) -> tuple[Path, ...]:
    """Every CA bundle file the environment's functions use (copied into their asset)."""
    found = {
        choice.ca_bundle
        for secret in config.secrets
        if secret.kind in NETWORKED_KINDS and (choice := tls_choice(config, secret)).ca_bundle is not None
    }
    return tuple(sorted(found))  # type: ignore[type-var]
