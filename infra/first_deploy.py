"""Whether a secret's rotation schedule rotates at deploy time, so that the first deploy always
ends with an AWSCURRENT that works, or a synth error saying what to do.

With ``RotateImmediatelyOnUpdate: false`` Secrets Manager does not rotate at deploy: it tests
the configuration by staging a temporary AWSPENDING holding a copy of AWSCURRENT and running
``testSecret`` alone (RotateSecret API reference, ``RotateImmediately``). That test passes only
when the first value already authenticates. A generated first value is known to nobody but the
secret, so for kinds whose ``setSecret`` can install a new value through an admin or an API the
deploy must rotate immediately; where nothing can install it (single-user PostgreSQL logs in
with the current password to change it), synth refuses. Per kind, from ``lambdas/*/strategy.py``:

| kind | generated first value | ``initial_value_from`` (the value in use) |
|---|---|---|
| hmac_key, one field | valid key: test passes | test checks the key's format |
| hmac_key, several fields | only one field is generated: rotate | refused: only one field is imported |
| postgres_single | refused: the role's password is unknown | test logs in with it |
| postgres_alternating | rotate: the admin sets ``<user>_clone`` | test logs in as ``<user>`` |
| valkey_acl | rotate: the admin sets the user's passwords | test logs in on every node |
| elasticache_user | rotate: ``ModifyUser`` sets both passwords | test authenticates (or checks the API) |
| elasticache_auth_token | rotate: ``ROTATE`` adds a token | test authenticates (or checks the API) |
"""

from __future__ import annotations

from infra.config import SecretConfig

_WHY_ROTATE = {
    "hmac_key": (
        "CloudFormation generates one field of a secret, so the other HMAC fields start empty and fail "
        "testSecret until a rotation fills them"
    ),
    "postgres_alternating": (
        "PostgreSQL does not know the generated password; the first rotation sets the clone role's "
        "password through the admin secret"
    ),
    "valkey_acl": "the Valkey user does not have the generated password; the first rotation sets it through the admin",
    "elasticache_user": "the ElastiCache user does not have the generated password; the first rotation sets it",
    "elasticache_auth_token": (
        "the replication group's AUTH token is not the generated one; the first rotation adds a token (ROTATE)"
    ),
}


class FirstDeployError(ValueError):
    """The first deploy could not end with a working AWSCURRENT; the message says what to do."""


def rotate_on_deploy(secret: SecretConfig) -> bool:
    """``RotateImmediatelyOnUpdate`` for ``secret``: the configured value if it is safe, else the
    one that is; a ``FirstDeployError`` when no value makes the first deploy work."""
    generated = secret.initial_value_from is None
    fields = secret.hmac.fields if secret.hmac else ()
    if secret.kind == "postgres_single" and generated:
        raise FirstDeployError(
            "postgres_single with a generated first value cannot work: PostgreSQL does not know it, and "
            "single-user rotation logs in with the current password to change it. Set initial_value_from "
            "to the secret holding the role's current password, or use postgres_alternating with an admin secret"
        )
    if secret.kind == "hmac_key" and not generated and len(fields) > 1:
        raise FirstDeployError(
            f"initial_value_from fills one field, but hmac.fields lists {len(fields)} ({', '.join(fields)}): "
            "the others would start empty. Import one field per secret, or drop initial_value_from"
        )
    needed = generated and (secret.kind != "hmac_key" or len(fields) > 1)
    if secret.rotate_immediately_on_update is False and needed:
        raise FirstDeployError(
            "rotate_immediately_on_update: false with a generated first value: the deploy-time testSecret "
            f"would fail because {_WHY_ROTATE[secret.kind]}. Leave rotate_immediately_on_update unset (the "
            "deploy rotates once), or set initial_value_from to the secret holding the value in use"
        )
    return needed if secret.rotate_immediately_on_update is None else secret.rotate_immediately_on_update
