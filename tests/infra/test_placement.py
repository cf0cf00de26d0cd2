"""A realistic environment (96 secrets of every kind over several stacks) deploys, and ordinary
edits to it move nothing: each secret's stack and logical id depend on the secret alone, secrets
and their log groups are retained, and the rotation-events rule stays under EventBridge's cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App

from infra.config import ConfigError, EnvironmentConfig
from infra.constructs.environment_alarms import EVENT_PATTERN_LIMIT
from infra.plan import plan_environment, secret_construct_id, stack_id, stack_label
from infra.stacks import build_environment
from tests.infra.configs import realistic_secrets, with_secrets
from tests.infra.conftest import LARGE, Templates, resolver, rotation_stacks, stack_of, synth


def _placement(config: EnvironmentConfig) -> dict[str, tuple[str, str]]:
    """Secret name -> (stack, construct id), as the plan builds them."""
    plan = plan_environment(config)
    return {config.secret_name(s): (p.construct_id, secret_construct_id(s)) for p in plan.stacks for s in p.secrets}


@pytest.fixture
def large(large_config: EnvironmentConfig, large_templates: Templates) -> tuple[EnvironmentConfig, Templates]:
    return large_config, large_templates


def _logical_ids(config: EnvironmentConfig, templates: Templates) -> dict[str, tuple[str, str]]:
    return {config.secret_name(s): stack_of(templates, config.secret_name(s)) for s in config.secrets}


def test_removing_the_first_entry_moves_no_other_secret(
    large: tuple[EnvironmentConfig, Templates], tmp_path: Path
) -> None:
    config, templates = large
    before = _logical_ids(config, templates)
    smaller = with_secrets(realistic_secrets(LARGE)[1:])

    after = _logical_ids(smaller, synth(smaller, tmp_path, nag=False))

    removed = config.secret_name(config.secrets[0])
    assert after == {name: where for name, where in before.items() if name != removed}


@pytest.mark.parametrize("edit", ["reverse", "insert-first", "append"])
def test_reordering_or_adding_entries_moves_no_secret(large: tuple[EnvironmentConfig, Templates], edit: str) -> None:
    config, _ = large
    secrets = realistic_secrets(LARGE)
    extra = {**secrets[1], "name": "newcomer-db"}
    edited = {"reverse": secrets[::-1], "insert-first": [extra, *secrets], "append": [*secrets, extra]}[edit]

    before, after = _placement(config), _placement(with_secrets(edited))

    assert {name: after[name] for name in before} == before


def test_a_secrets_stack_is_a_stable_hash_of_its_name_or_the_stack_it_names() -> None:
    secrets = realistic_secrets(8)
    secrets[3]["stack"] = "overflow"
    config = with_secrets(secrets)

    labels = {s.name: stack_label(config, s) for s in config.secrets}

    assert labels[secrets[3]["name"]] == "overflow"
    assert stack_id(config, "overflow") == "ShopExampleRotationOverflow"
    assert all(label in {"0", "1", "2", "3"} for name, label in labels.items() if name != secrets[3]["name"])
    assert labels == {s.name: stack_label(with_secrets(secrets[::-1]), s) for s in config.secrets}


def test_secrets_and_their_policies_survive_removal_and_replacement(large: tuple[EnvironmentConfig, Templates]) -> None:
    _, templates = large
    for template in rotation_stacks(templates).values():
        for kind in ("AWS::SecretsManager::Secret", "AWS::SecretsManager::ResourcePolicy"):
            for resource in template.find_resources(kind).values():
                # Kept when removed from the template or its stack is deleted; deleted only if the
                # deploy that created it rolls back, so a retry can create it again.
                assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
                assert resource["UpdateReplacePolicy"] == "Retain"


def test_named_log_groups_outlive_every_function_and_never_block_a_create(
    large: tuple[EnvironmentConfig, Templates], tmp_path: Path
) -> None:
    _, templates = large
    named = {
        (stack, resource["Properties"]["LogGroupName"]): resource
        for stack, template in templates.items()
        for resource in template.find_resources("AWS::Logs::LogGroup").values()
        if "LogGroupName" in resource["Properties"]
    }
    assert {stack for stack, _ in named} == {"ShopExampleBase"}  # none comes and goes with a rotation stack
    for resource in named.values():
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
    only_hmac = with_secrets([s for s in realistic_secrets(12) if s["kind"] == "hmac_key"])
    fewer = synth(only_hmac, tmp_path, nag=False)["ShopExampleBase"].find_resources("AWS::Logs::LogGroup")
    # dropping every secret of a kind drops no log group: re-adding the kind later creates nothing
    assert {r["Properties"]["LogGroupName"] for r in fewer.values()} == {name for _, name in named}


def _pattern_size(templates: Templates) -> tuple[int, list[str]]:
    res = resolver(templates)
    patterns = [
        json.dumps(res.resolve(rule["Properties"]["EventPattern"], stack), separators=(",", ":"))
        for stack, template in templates.items()
        for rule in template.find_resources("AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    ]
    return max(len(p) for p in patterns), patterns


def test_rotation_event_pattern_stays_under_eventbridges_cap_at_any_number_of_secrets(
    large: tuple[EnvironmentConfig, Templates], example_templates: Templates
) -> None:
    size, patterns = _pattern_size(large[1])
    small_size, _ = _pattern_size(example_templates)

    assert size <= EVENT_PATTERN_LIMIT
    assert size == small_size  # the same pattern for 5 secrets and for 96: it matches a name prefix
    assert len(patterns) == 1
    assert '"SecretId":[{"prefix":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/example/"}]' in patterns[0]


def test_a_full_stack_is_a_config_error_that_says_what_to_do() -> None:
    secrets = realistic_secrets(160)
    config = with_secrets(secrets, rotation_stacks=1)

    with pytest.raises(
        ConfigError,
        match=r"rotation stack '0' \(ShopExampleRotation0\) would hold \d+ resources for "
        r"160 secrets; it is full at 450.*`stack: <label>`",
    ):
        build_environment(App(context={"aws:cdk:bundling-stacks": []}), config)  # fmt: skip
