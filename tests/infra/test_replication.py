"""Replica Regions: each secret's ReplicaRegions and the key it is encrypted with there, a stack
per replica Region that nothing else renames, rotation only in the primary Region, and every
policy a replica needs (consumers, rotation functions, the age check), evaluated resolved."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra.config import ConfigError, EnvironmentConfig
from infra.regions import regions_by_partition
from tests.infra.aws_policy import Request, allows
from tests.infra.configs import ACCOUNT, EXAMPLE, REGION, config_from, example_raw
from tests.infra.conftest import Templates, resolver, stack_of, synth

_ALL_REGIONS = sorted(regions_by_partition()["aws"])
REPLICA = "eu-central-1"
REPLICA_STACK = "ShopExampleReplicaEuCentral1"
CONSUMER = f"arn:aws:iam::{ACCOUNT}:role/shop-example-django"
ALIAS = "alias/shop-example-secrets"


def _replica_arn(arn: str, region: str) -> str:
    return arn.replace(f":{REGION}:", f":{region}:", 1)


def _secret(templates: Templates, name: str) -> tuple[str, str, dict[str, Any]]:
    stack, logical_id = stack_of(templates, name)
    return stack, logical_id, templates[stack].to_json()["Resources"][logical_id]["Properties"]


def test_secrets_replicate_where_configured_encrypted_by_their_regions_key_and_tagged(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    for secret in example_config.secrets:
        name = example_config.secret_name(secret)
        _, _, properties = _secret(example_templates, name)
        tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
        if secret.kind.startswith("elasticache"):  # the example keeps its caches' secrets in eu-west-1
            assert "ReplicaRegions" not in properties, name
            assert "rotation-kit:replica-regions" not in tags
        else:
            assert properties["ReplicaRegions"] == [{"Region": REPLICA, "KmsKeyId": ALIAS}], name
            assert tags["rotation-kit:replica-regions"] == REPLICA


def test_each_replica_region_has_one_stack_with_its_key_and_no_rotation(example_templates: Templates) -> None:
    replica = example_templates[REPLICA_STACK]
    (key,) = replica.find_resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert "MultiRegion" not in key["Properties"]  # a per-Region key: no cross-Region reference to a primary
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    replica.has_resource_properties("AWS::KMS::Alias", {"AliasName": ALIAS})
    for kind in ("AWS::Lambda::Function", "AWS::SecretsManager::RotationSchedule", "AWS::SecretsManager::Secret"):
        assert replica.find_resources(kind) == {}, kind  # rotation stays in the primary Region
    for name, template in example_templates.items():
        if template.find_resources("AWS::SecretsManager::RotationSchedule"):
            assert name != REPLICA_STACK
        # nothing crosses Regions at deploy time: no CDK cross-Region export writer or reader
        assert not [r for r in template.to_json()["Resources"].values() if "CrossRegion" in r["Type"]], name


def test_rotation_stacks_deploy_after_the_replica_stacks_of_their_secrets(tmp_path: Path) -> None:
    from infra.stacks import build_environment

    app = App(context={"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    stacks = {stack.stack_name: stack for stack in build_environment(app, config_from(example_raw()))}

    assert stacks[REPLICA_STACK].region == REPLICA
    rotation = [stack for name, stack in stacks.items() if "Rotation" in name]
    replicating = [s for s in rotation if any(d.stack_name == REPLICA_STACK for d in s.dependencies)]
    assert replicating  # a replica's key must exist when Secrets Manager creates the replica
    assert all(stack.region == REGION for stack in rotation)


def _alarm(template: Any, prefix: str) -> dict[str, Any]:
    found = [
        a["Properties"] for i, a in template.find_resources("AWS::CloudWatch::Alarm").items() if i.startswith(prefix)
    ]
    assert len(found) == 1, prefix
    return found[0]  # type: ignore[no-any-return]


def test_replicas_not_in_sync_or_lagging_raise_alarms_of_this_environment(
    example_templates: Templates, tmp_path: Path
) -> None:
    base = example_templates["ShopExampleBase"]
    for logical, metric in (("RotationAgeReplicaNotInSync", "ReplicasNotInSync"),
                            ("RotationAgeReplicaLagging", "ReplicasLagging")):  # fmt: skip
        alarm = _alarm(base, logical)
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (metric, "Maximum", 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "service": "secret-rotation", "environment": "shop/example"}  # fmt: skip
        assert alarm["AlarmActions"]
    raw = example_raw()
    raw.pop("replication")
    for secret in raw["secrets"]:
        secret.pop("replica_regions", None)
    single = synth(config_from(raw), tmp_path, nag=False)
    assert not [i for i in single["ShopExampleBase"].find_resources("AWS::CloudWatch::Alarm") if "Replica" in i]
    assert not [name for name in single if "Replica" in name]


def _function_roles_attaching(templates: Templates, policy_name: str) -> list[str]:
    attached = []
    for template in templates.values():
        for logical_id, role in template.find_resources("AWS::IAM::Role").items():
            arns = [str(arn) for arn in role["Properties"].get("ManagedPolicyArns", [])]
            if any(policy_name in arn for arn in arns):
                attached.append(logical_id)
    return attached


def test_rotation_functions_may_encrypt_with_the_replica_key_through_secrets_manager_there_only(
    example_templates: Templates,
) -> None:
    replica = example_templates[REPLICA_STACK]
    (policy,) = replica.find_resources("AWS::IAM::ManagedPolicy").values()
    name = policy["Properties"]["ManagedPolicyName"]
    assert name == f"shop-example-replica-key-{REPLICA}"
    res = resolver(example_templates, partition="aws", region=REPLICA)
    document = res.resolve(policy["Properties"]["PolicyDocument"], REPLICA_STACK)
    (key_id,) = replica.find_resources("AWS::KMS::Key")
    key_arn = res.resolve({"Fn::GetAtt": [key_id, "Arn"]}, REPLICA_STACK)
    as_any = {**document, "Statement": [{**s, "Principal": "*"} for s in document["Statement"]]}
    there = {"kms:ViaService": f"secretsmanager.{REPLICA}.amazonaws.com"}
    for action in ("kms:Encrypt", "kms:GenerateDataKey"):
        assert allows(as_any, Request(action, key_arn, principal_arn="role", context=there))
        assert not allows(as_any, Request(action, key_arn, principal_arn="role", context={}))
    assert not allows(as_any, Request("kms:Decrypt", key_arn, principal_arn="role", context=there))
    # the functions of secrets that replicate attach it by name (IAM is global; no cross-Region reference)
    assert _function_roles_attaching(example_templates, name)


def test_a_consumer_reads_the_replica_and_decrypts_with_its_regions_key(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    base = example_templates["ShopExampleBase"]
    (policy,) = [p for p in base.find_resources("AWS::IAM::ManagedPolicy").values() if "Roles" in p["Properties"]]
    res = resolver(example_templates, partition="aws")
    document = res.resolve(policy["Properties"]["PolicyDocument"], "ShopExampleBase")
    as_any = {**document, "Statement": [{**s, "Principal": "*"} for s in document["Statement"]]}
    name = example_config.secret_name(example_config.secrets[0])
    stack, logical_id, _ = _secret(example_templates, name)
    primary_arn = res.resolve({"Ref": logical_id}, stack)
    for region in (REGION, REPLICA):
        arn = _replica_arn(primary_arn, region)  # same name and random suffix in every Region
        assert allows(as_any, Request("secretsmanager:GetSecretValue", arn, principal_arn=CONSUMER)), region
    assert not allows(as_any, Request("secretsmanager:GetSecretValue", _replica_arn(primary_arn, "us-west-2"),
                                      principal_arn=CONSUMER))  # fmt: skip
    (key,) = example_templates[REPLICA_STACK].find_resources("AWS::KMS::Key").values()
    key_policy = resolver(example_templates, partition="aws", region=REPLICA).resolve(
        key["Properties"]["KeyPolicy"], REPLICA_STACK
    )
    there = {"kms:ViaService": f"secretsmanager.{REPLICA}.amazonaws.com"}
    assert allows(key_policy, Request("kms:Decrypt", "key", principal_arn=CONSUMER, context=there))
    assert not allows(key_policy, Request("kms:Decrypt", "key", principal_arn=CONSUMER, context={}))
    elsewhere = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    assert not allows(key_policy, Request("kms:Decrypt", "key", principal_arn=CONSUMER, context=elsewhere))


def test_a_consumer_that_reads_in_the_primary_region_only_gets_no_replica(tmp_path: Path) -> None:
    raw = example_raw()
    raw["secrets"][0]["consumers"] = [{"role": CONSUMER, "regions": [REGION]}]
    raw["secrets"][1]["consumers"] = [{"role": CONSUMER, "regions": [REGION]}]
    templates = synth(config_from(raw), tmp_path, nag=False)

    (policy,) = [p for p in templates["ShopExampleBase"].find_resources("AWS::IAM::ManagedPolicy").values()
                 if "Roles" in p["Properties"]]  # fmt: skip
    resources = policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    assert resources
    assert all(f":{REGION}:" in arn for arn in resources)
    (key,) = templates[REPLICA_STACK].find_resources("AWS::KMS::Key").values()
    assert "ConsumersDecryptViaSecretsManager" not in str(key["Properties"]["KeyPolicy"])


def _ids(templates: Templates) -> dict[str, set[str]]:
    return {name: set(template.to_json()["Resources"]) for name, template in templates.items()}


def test_adding_a_replica_region_or_excluding_a_secret_moves_nothing_else(
    example_templates: Templates, tmp_path: Path
) -> None:
    raw = example_raw()
    raw["replication"]["regions"] = ["us-west-2", REPLICA]  # a new Region, listed first
    raw["secrets"][2]["replica_regions"] = []  # one secret leaves replication
    edited = synth(config_from(raw), tmp_path, nag=False)

    before, after = _ids(example_templates), _ids(edited)
    assert set(after) == {*before, "ShopExampleReplicaUsWest2"}
    for stack, ids in before.items():
        assert ids <= after[stack], stack  # every resource keeps its stack and logical id
    assert after[REPLICA_STACK] == before[REPLICA_STACK]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"replication": {"regions": [REGION]}}, f"replication.regions[0]: '{REGION}' is the primary region (region)"),
        ({"replication": {"regions": ["eu-centrl-1"]}},
         "replication.regions[0]: 'eu-centrl-1' is not a Region where Secrets Manager and KMS are offered in "
         "partition aws (did you mean 'eu-central-1'?)"),
        ({"replication": {"regions": ["cn-north-1"]}},
         "'cn-north-1' is in partition aws-cn, the environment is in aws: Secrets Manager replicates only within"),
        ({"replication": {"regions": [REPLICA, REPLICA]}}, f"replication.regions: lists '{REPLICA}' twice"),
        ({"replication": {"regions": [REPLICA], "default_regions": ["us-west-2"]}},
         "replication: default_regions: 'us-west-2' has no replica key: list it in replication.regions"),
        ({"secrets.0.replica_regions": ["us-west-2"]},
         "secrets[0] (webhook-signing): replica_regions: 'us-west-2' has no replica key: list it in "
         "replication.regions"),
        ({"secrets.0.replica_regions": [REGION]}, f"secrets[0] (webhook-signing): replica_regions: '{REGION}' is the "
                                                  "primary region"),
        ({"secrets.1.replica_regions": [], "secrets.1.consumers": [{"role": CONSUMER, "regions": [REPLICA, REGION]}]},
         f"secrets[1] (main): consumers[0].regions: {CONSUMER} reads in '{REPLICA}', but the secret is not "
         "replicated there (its replica regions: [])"),
        ({"region": "eu-westt-1"}, "region: 'eu-westt-1' is not a Region where Secrets Manager and KMS are offered"),
        # the tag that tells the age check which replicas to expect holds at most 255 characters
        ({"replication": {"regions": [r for r in _ALL_REGIONS if r != REGION][:20]}},
         "secrets[0] (webhook-signing): replica_regions: 20 Regions do not fit the 255-character tag"),
    ],
)  # fmt: skip
def test_bad_replication_config_is_refused_naming_the_field_and_nothing_is_synthesized(
    config_file: Any, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    import app as cdk_app

    path = config_file(changes)
    app = App(context={"env": path.stem, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path / "out"))

    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*" + re.escape(message)):
        cdk_app.build_app(app, config_dir=path.parent)
    assert app.node.children == []  # not one stack was built


def test_the_example_config_replicates_and_excludes(example_config: EnvironmentConfig) -> None:
    assert EXAMPLE.exists()
    regions = {secret.name: example_config.replica_regions_of(secret) for secret in example_config.secrets}
    assert regions["webhook-signing"] == (REPLICA,)
    assert regions["sessions-token"] == ()
