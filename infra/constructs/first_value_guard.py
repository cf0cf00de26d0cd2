"""The rotation stack's first-value guard: one ``Custom::FirstValueGuard`` that every secret of
the stack depends on, so CloudFormation updates it first and a deploy that would overwrite a
live secret's value fails before the secret is touched (lambdas/rotation_monitor/first_value_guard.py).
It is answered by the environment's rotation-age check function, which needs no permission for it."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CustomResource
from constructs import Construct

from lambdas.rotation_monitor.first_value_guard import FINGERPRINTS, REPLACE_VALUE_ON_EDIT, RESOURCE_TYPE


@dataclass(frozen=True)
class FirstValueGuardProps:
    service_token: str  # the rotation-age check function's ARN
    fingerprints: dict[str, str]  # secret name -> first_value_fingerprint
    replace_value_on_edit: tuple[str, ...] = ()  # secret names whose value may be overwritten


class FirstValueGuard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: FirstValueGuardProps) -> None:
        super().__init__(scope, construct_id)
        unknown = sorted(set(props.replace_value_on_edit) - set(props.fingerprints))
        if unknown:
            raise ValueError(f"replace_value_on_edit names secrets this stack does not hold: {', '.join(unknown)}")
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=props.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                FINGERPRINTS: dict(sorted(props.fingerprints.items())),
                REPLACE_VALUE_ON_EDIT: sorted(props.replace_value_on_edit),
            },
        )
