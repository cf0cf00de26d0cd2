"""Consumers: a role of this account gets one managed policy per environment (not per stack); a
role of another account is let in through each secret's resource policy and the key policy,
and never becomes a same-named role of this account. Policies are evaluated resolved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from infra.constructs.consumer_policy import MANAGED_POLICY_LIMIT, ConsumerAccess, ConsumerAccessProps
from tests.infra.aws_policy import Request, allows
from tests.infra.configs import ACCOUNT, OTHER_ACCOUNT, REGION, realistic_secrets, with_secrets
from tests.infra.conftest import Templates, resolver, stack_of, synth

LOCAL = f"arn:aws:iam::{ACCOUNT}:role/shop-example-django"
REMOTE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/analytics-reader"


@pytest.fixture(scope="module")
def consumers(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Templates]:
    secrets = realistic_secrets(24)
    for number, secret in enumerate(secrets):
        secret["consumers"] = [LOCAL] + ([REMOTE] if number % 3 == 0 else [])
    config = with_secrets(secrets)
    names = [config.secret_name(s) for s in config.secrets]
    return names, synth(config, tmp_path_factory.mktemp("consumers"), nag=False)


def _managed_policies(templates: Templates) -> list[tuple[str, dict[str, Any]]]:
    """The policies given to consumer roles (a replica stack's policy for the rotation functions has no role)."""
    return [(stack, p["Properties"]) for stack, t in templates.items()
            for p in t.find_resources("AWS::IAM::ManagedPolicy").values() if "Roles" in p["Properties"]]  # fmt: skip


def test_a_local_consumer_of_secrets_in_every_stack_gets_one_policy(consumers: tuple[list[str], Templates]) -> None:
    names, templates = consumers
    stacks = {stack_of(templates, name)[0] for name in names}
    policies = _managed_policies(templates)

    assert len(stacks) == 4
    assert len(policies) == 1  # IAM attaches at most 10 managed policies to a role by default
    stack, policy = policies[0]
    assert stack == "ShopExampleBase"
    assert policy["Roles"] == ["shop-example-django"]
    document = resolver(templates, partition="aws").resolve(policy["PolicyDocument"], stack)
    assert len(json.dumps(document, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT
    for name in names:
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
        assert allows({**document, "Statement": [{**s, "Principal": "*"} for s in document["Statement"]]},
                      Request("secretsmanager:GetSecretValue", arn, principal_arn=LOCAL))  # fmt: skip


def test_a_consumer_of_more_secrets_than_one_policy_holds_gets_as_few_as_fit() -> None:
    stack = Stack(App(), "Consumers", env=Environment(account=ACCOUNT, region=REGION))
    names = tuple(f"shop/example/postgres_alternating/orders-primary-{n:03d}" for n in range(90))
    ConsumerAccess(
        stack,
        "Access",
        props=ConsumerAccessProps(
            secrets_by_role={LOCAL: tuple((name, (REGION,)) for name in names)},
            account=ACCOUNT,
            partition="aws",
            region=REGION,
            key=kms.Key(stack, "Key"),
        ),
    )
    templates = {"Consumers": Template.from_stack(stack)}
    res = resolver(templates, partition="aws")

    documents = [res.resolve(p["PolicyDocument"], s) for s, p in _managed_policies(templates)]  # fmt: skip

    assert len(documents) == 2
    assert all(len(json.dumps(d, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT for d in documents)
    assert sorted(r for d in documents for r in d["Statement"][0]["Resource"]) == sorted(
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-??????" for name in names)  # fmt: skip


def test_a_remote_consumer_reads_through_the_secret_and_key_policies_only(
    consumers: tuple[list[str], Templates],
) -> None:
    names, templates = consumers
    res = resolver(templates, partition="aws")
    assert all(p["Roles"] != ["analytics-reader"] for _, p in _managed_policies(templates))
    remote_context = {"aws:PrincipalAccount": OTHER_ACCOUNT, "aws:PrincipalArn": REMOTE}
    for number, name in enumerate(names):
        stack, secret_id = stack_of(templates, name)
        (policy,) = (
            templates[stack]
            .find_resources("AWS::SecretsManager::ResourcePolicy", {"Properties": {"SecretId": {"Ref": secret_id}}})
            .values()
        )
        document = res.resolve(policy["Properties"]["ResourcePolicy"], stack)
        secret_arn = res.resolve({"Ref": secret_id}, stack)
        read = Request("secretsmanager:GetSecretValue", secret_arn, principal_arn=REMOTE, context=remote_context)
        assert allows(document, read) is (number % 3 == 0), name
        write = Request("secretsmanager:PutSecretValue", secret_arn, principal_arn=REMOTE, context=remote_context)
        assert not allows(document, write)
        stranger = {"aws:PrincipalAccount": OTHER_ACCOUNT, "aws:PrincipalArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/x"}
        assert not allows(document, Request("secretsmanager:GetSecretValue", secret_arn,
                                            principal_arn=stranger["aws:PrincipalArn"], context=stranger))  # fmt: skip
    key = next(k for k in templates["ShopExampleBase"].find_resources("AWS::KMS::Key").values())
    key_policy = res.resolve(key["Properties"]["KeyPolicy"], "ShopExampleBase")
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    assert allows(key_policy, Request("kms:Decrypt", "key", principal_arn=REMOTE, context=via))
    assert not allows(key_policy, Request("kms:Decrypt", "key", principal_arn=REMOTE, context={}))
