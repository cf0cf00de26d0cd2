"""The first deploy ends with an AWSCURRENT that works, for every kind and every way the first
value arrives, or synth refuses saying what to do.

With ``RotateImmediatelyOnUpdate: false`` Secrets Manager runs ``testSecret`` alone on a copy
of AWSCURRENT at deploy: it passes only if the first value already authenticates. A generated
value is known to nobody but the secret, so the deploy must rotate (where setSecret can install
a value) or refuse (infra/first_deploy.py, from each kind's strategy)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from tests.infra.configs import ACCOUNT, REGION, example_secret, with_secrets
from tests.infra.conftest import stack_of, synth

IMPORTED = {"secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/legacy/value-AbCdEf"}


def _secret(kind: str, source: str, **changes: Any) -> dict[str, Any]:
    secret = example_secret(kind)
    secret.pop("initial_value_from", None)
    if source == "imported":
        secret["initial_value_from"] = {**IMPORTED, "json_field": "password"}
    return {**secret, **changes}


# kind, first-value source -> RotateImmediatelyOnUpdate the deploy needs
NEEDED = {
    ("hmac_key", "generated"): False,  # a generated key is a valid key: the configuration test passes
    ("hmac_key", "imported"): False,  # the key in use stays AWSCURRENT (the test checks its format)
    ("postgres_alternating", "generated"): True,  # the admin sets <user>_clone to a value that works
    ("postgres_alternating", "imported"): False,  # the password in use logs in
    ("postgres_single", "imported"): False,
    ("valkey_acl", "generated"): True,  # the admin sets the user's passwords on every node
    ("valkey_acl", "imported"): False,
    ("elasticache_user", "generated"): True,  # ModifyUser sets the user's passwords
    ("elasticache_user", "imported"): False,
    ("elasticache_auth_token", "generated"): True,  # ROTATE adds a token that works
    ("elasticache_auth_token", "imported"): False,
}


@pytest.fixture(scope="module")
def first_deploy(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bool]:
    """RotateImmediatelyOnUpdate of each (kind, source), synthesized in one environment."""
    secrets = [_secret(kind, source, name=f"{kind.replace('_', '-')}-{source}") for kind, source in NEEDED]
    templates = synth(with_secrets(secrets), tmp_path_factory.mktemp("first"), nag=False)
    found = {}
    for (kind, source), secret in zip(NEEDED, secrets, strict=True):
        stack, secret_id = stack_of(templates, f"shop/example/{kind}/{secret['name']}")
        (schedule,) = (
            templates[stack]
            .find_resources("AWS::SecretsManager::RotationSchedule", {"Properties": {"SecretId": {"Ref": secret_id}}})
            .values()
        )
        found[(kind, source)] = schedule["Properties"]["RotateImmediatelyOnUpdate"]
    return found


@pytest.mark.parametrize(("kind", "source"), list(NEEDED))
def test_first_deploy_rotates_exactly_when_the_first_value_cannot_authenticate(
    first_deploy: dict[tuple[str, str], bool], kind: str, source: str
) -> None:
    assert first_deploy[(kind, source)] is NEEDED[(kind, source)]


def test_hmac_with_several_fields_rotates_at_deploy_so_none_stays_empty(tmp_path: Path) -> None:
    secret = _secret("hmac_key", "generated", hmac={"fields": ["key", "previous_key"]})
    templates = synth(with_secrets([secret]), tmp_path, nag=False)
    stack, _ = stack_of(templates, "shop/example/hmac_key/webhook-signing")

    templates[stack].has_resource_properties(
        "AWS::SecretsManager::RotationSchedule", {"RotateImmediatelyOnUpdate": True}
    )


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (
            _secret("postgres_single", "generated"),
            "postgres_single with a generated first value cannot work: PostgreSQL does not know it, and single-user "
            "rotation logs in with the current password to change it. Set initial_value_from",
        ),
        (
            _secret("postgres_alternating", "generated", rotate_immediately_on_update=False),
            "rotate_immediately_on_update: false with a generated first value: the deploy-time testSecret would fail "
            "because PostgreSQL does not know the generated password",
        ),
        (
            _secret("valkey_acl", "generated", rotate_immediately_on_update=False),
            "because the Valkey user does not have the generated password",
        ),
        (
            _secret("elasticache_user", "generated", rotate_immediately_on_update=False),
            "because the ElastiCache user does not have the generated password",
        ),
        (
            _secret("elasticache_auth_token", "generated", rotate_immediately_on_update=False),
            "because the replication group's AUTH token is not the generated one",
        ),
        (
            _secret("hmac_key", "generated", hmac={"fields": ["a", "b"]}, rotate_immediately_on_update=False),
            "because CloudFormation generates one field of a secret",
        ),
        (
            _secret("hmac_key", "imported", hmac={"fields": ["a", "b"]}),
            "initial_value_from fills one field, but hmac.fields lists 2 (a, b)",
        ),
    ],
)
def test_a_first_deploy_that_cannot_end_with_a_working_value_is_refused_at_synth(
    secret: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"secrets\[0\] \({secret['name']}\): .*" + re.escape(message)):
        with_secrets([secret])


def test_rotating_at_deploy_when_it_is_not_needed_is_allowed(tmp_path: Path) -> None:
    secret = _secret("postgres_alternating", "imported", rotate_immediately_on_update=True)
    templates = synth(with_secrets([secret]), tmp_path, nag=False)
    stack, _ = stack_of(templates, "shop/example/postgres_alternating/main")

    templates[stack].has_resource_properties(
        "AWS::SecretsManager::RotationSchedule", {"RotateImmediatelyOnUpdate": True}
    )
