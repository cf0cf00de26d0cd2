"""Evaluate a resource policy (SNS topic, KMS key, secret) for one request, the way IAM does,
so a test can ask "may CloudWatch publish this alarm to this topic?" of the synthesized policy.

Implemented from the IAM user guide's policy evaluation logic and condition operators
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
.../reference_policies_elements_condition_operators.html): an explicit Deny wins; otherwise a
matching Allow allows; the keys of one condition block must all match (AND), the values of
one key any (OR); a key missing from the request fails every operator except the negated
ones (``StringNotEquals``, ``ArnNotEquals``, ``ArnNotLike``, ``StringNotLike``), which match;
``*`` and ``?`` are wildcards in ``*Like`` operators, in actions and in resources. Only the
operators our templates use are implemented: anything else raises, so a new operator cannot
pass unnoticed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    service: str | None = None  # a service principal, e.g. "cloudwatch.amazonaws.com"
    principal_arn: str | None = None  # an IAM principal
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys the request carries


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise ValueError(f"unsupported Principal {principal!r}")
    services = _listed(principal.get("Service", []))
    arns = _listed(principal.get("AWS", []))
    if request.service is not None and request.service in services:
        return True
    return request.principal_arn is not None and any(arn in ("*", request.principal_arn) for arn in arns)


def _operator_matches(operator: str, key: str, expected: Sequence[str], context: Mapping[str, str]) -> bool:
    negated = operator in ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")
    if key not in context:
        return negated
    actual = context[key]
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return actual not in expected
    if operator in ("StringLike", "ArnLike"):
        return any(_like(pattern, actual) for pattern in expected)
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(_like(pattern, actual) for pattern in expected)
    if operator == "Bool":
        return actual.lower() in [str(value).lower() for value in expected]
    raise ValueError(f"condition operator {operator!r} is not implemented by this evaluator")


def _conditions_match(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    return all(
        _operator_matches(operator, key, [str(value) for value in _listed(values)], context)
        for operator, block in conditions.items()
        for key, values in block.items()
    )


def _statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    actions = [action.lower() for action in _listed(statement.get("Action", []))]
    resources = _listed(statement.get("Resource", "*"))
    return (
        _principal_matches(statement.get("Principal"), request)
        and any(_like(action, request.action.lower()) for action in actions)
        and any(_like(str(resource), request.resource) for resource in resources)
        and _conditions_match(statement.get("Condition", {}), request.context)
    )


def allows(policy: Mapping[str, Any], request: Request) -> bool:
    """Whether ``policy`` (resolved, no intrinsic functions) allows ``request``."""
    statements = _listed(policy["Statement"])
    if any(s["Effect"] == "Deny" and _statement_matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _statement_matches(s, request) for s in statements)
