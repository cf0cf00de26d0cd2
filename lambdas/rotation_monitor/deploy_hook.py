"""The rotation-age check as a CloudFormation custom resource: the base stack runs it once when
it is created or changed, so the check's first data point exists before its "check silent"
alarm (missing data is breaching) is created, and a check that cannot work fails the deploy
with its reason instead of paging six hours later.

CloudFormation sends ``RequestType``, ``ResponseURL`` (a pre-signed S3 URL) and ids, and
waits for a JSON document PUT to that URL (CloudFormation user guide, "Custom resources":
request and response objects)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.rotation.telemetry import logger
from lambdas.rotation_monitor.first_value_guard import GuardVerdict, judge

PHYSICAL_ID = "rotation-age-check"
RESPONSE_TIMEOUT_S = 10


def is_custom_resource_event(event: Any) -> bool:
    return isinstance(event, Mapping) and "RequestType" in event and "ResponseURL" in event


def respond(
    event: Mapping[str, Any],
    *,
    succeeded: bool,
    reason: str,
    data: Mapping[str, Any] | None = None,
    physical_id: str | None = None,
) -> None:
    """PUT the response document to the event's pre-signed URL (no content type: S3 signs none)."""
    body = json.dumps(
        {
            "Status": "SUCCESS" if succeeded else "FAILED",
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id or event.get("PhysicalResourceId") or PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": dict(data or {}),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's pre-signed S3 URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_S):  # noqa: S310
        pass


def handle_deployment(event: Mapping[str, Any], check: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """Run ``check`` on Create/Update and report its outcome; Delete has nothing to undo."""
    if event["RequestType"] == "Delete":
        respond(event, succeeded=True, reason="nothing to delete")
        return {"deleted": True}
    try:
        result = dict(check())
    except Exception as exc:  # every failure must reach CloudFormation, or it waits an hour
        # Answered, not raised: CloudFormation invokes asynchronously, and Lambda would retry a raise.
        logger.exception("rotation-age check failed at deploy")
        reason = f"rotation-age check failed: {type(exc).__name__}: {exc}"
        respond(event, succeeded=False, reason=reason)
        return {"failed": reason}
    respond(event, succeeded=True, reason=f"checked {result.get('secrets', 0)} secret(s)",
            data={"Secrets": result.get("secrets", 0)})  # fmt: skip
    return result


def handle_guard(event: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a ``Custom::FirstValueGuard`` request (first_value_guard.judge decides)."""
    try:
        verdict = judge(event)
    except Exception as exc:  # answered, not raised: CloudFormation would wait an hour
        verdict = GuardVerdict(False, f"first-value guard failed: {type(exc).__name__}: {exc}", "")
    (logger.info if verdict.succeeded else logger.error)(
        "first-value guard", extra={"request": event["RequestType"], "succeeded": verdict.succeeded}
    )
    respond(event, succeeded=verdict.succeeded, reason=verdict.reason, physical_id=verdict.physical_id)
    return {"succeeded": verdict.succeeded, "reason": verdict.reason}
