"""An edit that would make CloudFormation overwrite a live secret's value fails the deploy
before the secret is touched (CloudFormation: a change to ``GenerateSecretString`` creates a new
secret version). The guard's properties come from synthesized templates, and the function's
own ``judge`` answers what CloudFormation would send for the edit."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra.config import EnvironmentConfig
from lambdas.rotation_monitor.first_value_guard import RESOURCE_TYPE, judge
from tests.infra.configs import example_raw, with_secrets
from tests.infra.conftest import Templates, rotation_stacks, synth, template_json


def _guards(templates: Templates) -> dict[str, dict[str, Any]]:
    """stack name -> the guard resource (id and properties) of each rotation stack."""
    found = {}
    for stack, template in template_json(rotation_stacks(templates)).items():
        (guard,) = [(i, r) for i, r in template["Resources"].items() if r["Type"] == RESOURCE_TYPE]
        found[stack] = {"id": guard[0], **guard[1]}
    return found


def _fingerprints(templates: Templates) -> dict[str, str]:
    guards = _guards(templates).values()
    return {name: fp for guard in guards for name, fp in guard["Properties"]["Fingerprints"].items()}


def _update(before: Templates, after: Templates, secret_name: str) -> dict[str, Any]:
    """The Update CloudFormation sends the guard of ``secret_name``'s stack for this edit."""
    (old,) = [g for g in _guards(before).values() if secret_name in g["Properties"]["Fingerprints"]]
    (new,) = [g for g in _guards(after).values() if secret_name in g["Properties"]["Fingerprints"]]
    created = judge({"RequestType": "Create", "ResourceProperties": old["Properties"]})
    return {
        "RequestType": "Update",
        "PhysicalResourceId": created.physical_id,
        "ResourceProperties": new["Properties"],
        "OldResourceProperties": old["Properties"],
    }


def _secrets() -> list[dict[str, Any]]:
    return copy.deepcopy(example_raw()["secrets"])


def _postgres(secrets: list[dict[str, Any]]) -> dict[str, Any]:
    return next(s for s in secrets if s["kind"] == "postgres_alternating")


def test_every_secret_waits_for_its_stacks_guard_answered_by_the_age_check(example_templates: Templates) -> None:
    guards = _guards(example_templates)
    for stack, template in template_json(rotation_stacks(example_templates)).items():
        guard = guards[stack]
        secrets = {i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"}
        assert secrets
        for logical_id, secret in secrets.items():
            assert guard["id"] in secret.get("DependsOn", []), logical_id
        assert set(guard["Properties"]["Fingerprints"]) == {s["Properties"]["Name"] for s in secrets.values()}
        assert "Fn::ImportValue" in str(guard["Properties"]["ServiceToken"])  # the base stack's age check


def test_editing_a_secrets_target_fails_the_deploy_naming_it_and_nothing_else_changes(
    example_config: EnvironmentConfig, example_templates: Templates, tmp_path: Path
) -> None:
    secrets = _secrets()
    _postgres(secrets)["postgres"]["host"] = "orders-db-2.cluster-abc.eu-west-1.rds.amazonaws.com"
    edited = with_secrets(secrets)
    name = edited.secret_name(next(s for s in edited.secrets if s.kind == "postgres_alternating"))

    after = synth(edited, tmp_path, nag=False)

    before_fp, after_fp = _fingerprints(example_templates), _fingerprints(after)
    assert {n for n in before_fp if before_fp[n] != after_fp[n]} == {name}
    verdict = judge(_update(example_templates, after, name))
    assert not verdict.succeeded
    assert name in verdict.reason
    assert "replace_value_on_edit" in verdict.reason


@pytest.mark.parametrize("edit", ["password length", "initial value source"])
def test_every_first_value_setting_is_guarded(example_templates: Templates, tmp_path: Path, edit: str) -> None:
    secrets = _secrets()
    if edit == "password length":
        _postgres(secrets)["password"] = {"length": 40}
    else:
        _postgres(secrets)["initial_value_from"] = {
            "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:legacy/orders-AbCdEf",
            "json_field": "password",
        }
    edited = with_secrets(secrets)
    name = edited.secret_name(next(s for s in edited.secrets if s.kind == "postgres_alternating"))

    assert not judge(_update(example_templates, synth(edited, tmp_path, nag=False), name)).succeeded


def test_replace_value_on_edit_lets_the_edit_through_and_adding_or_removing_secrets_always_passes(
    example_templates: Templates, tmp_path: Path
) -> None:
    secrets = _secrets()
    _postgres(secrets)["postgres"]["port"] = 6432
    _postgres(secrets)["replace_value_on_edit"] = True
    accepted = with_secrets(secrets)
    name = accepted.secret_name(next(s for s in accepted.secrets if s.kind == "postgres_alternating"))
    assert judge(_update(example_templates, synth(accepted, tmp_path / "a", nag=False), name)).succeeded

    others = [s for s in _secrets() if s["kind"] != "hmac_key"] + [{**_secrets()[0], "name": "newcomer"}]
    changed = with_secrets(others)
    after = synth(changed, tmp_path / "b", nag=False)
    for secret in changed.secrets:
        event = _update(example_templates, after, changed.secret_name(secret)) if secret.name != "newcomer" else None
        if event is not None:
            assert judge(event).succeeded, secret.name
