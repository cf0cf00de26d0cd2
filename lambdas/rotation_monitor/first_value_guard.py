"""A deploy that would overwrite a live secret's value fails before it touches the secret.

CloudFormation writes a new version, labelled AWSCURRENT, whenever a secret's
``GenerateSecretString`` changes ("When you make a change to this property, a new secret version
is created": AWS::SecretsManager::Secret, CloudFormation template reference), or its
``SecretString``. For a rotated secret that new value (a fresh random password, or the
first value referenced again) is unknown to the database or cache: every client would be
rejected. A config edit (a host, a port, the password length) changes that property.

Each rotation stack holds one ``Custom::FirstValueGuard`` whose ``Fingerprints`` map each
secret's name to a digest of its first-value property, and every secret depends on it, so
CloudFormation updates the guard first. An update that changes the fingerprint of a secret
that existed before fails the deploy, naming the secrets, unless the secret is listed in
``ReplaceValueOnEdit`` (config ``replace_value_on_edit: true``).

The physical id is the digest of the accepted properties: an update back to them (what a
rollback sends, should CloudFormation send one to a resource whose update failed; its docs do
not say) is accepted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RESOURCE_TYPE = "Custom::FirstValueGuard"
# The resource's properties (infra/constructs/first_value_guard.py writes them).
FINGERPRINTS = "Fingerprints"  # secret name -> digest of its first-value property
REPLACE_VALUE_ON_EDIT = "ReplaceValueOnEdit"  # secret names whose value may be overwritten
MAX_NAMED = 10  # CloudFormation shows a reason of at most 1,000 characters (deploy_hook.respond cuts it)


@dataclass(frozen=True)
class GuardVerdict:
    succeeded: bool
    reason: str
    physical_id: str


def accepted_id(properties: Mapping[str, Any]) -> str:
    """The digest a state of the guard is known by (its physical id)."""
    chosen = {key: properties.get(key) or None for key in (FINGERPRINTS, REPLACE_VALUE_ON_EDIT)}
    return "first-values-" + hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:32]


def judge(event: Mapping[str, Any]) -> GuardVerdict:
    """Accept a Create or Delete; accept an Update unless it would overwrite a live secret."""
    new = event.get("ResourceProperties") or {}
    new_id = accepted_id(new)
    if event["RequestType"] != "Update":
        return GuardVerdict(True, f"{event['RequestType'].lower()}: nothing to overwrite", new_id)
    current_id = str(event.get("PhysicalResourceId") or "")
    if new_id == current_id:
        return GuardVerdict(True, "back to the accepted first values", new_id)
    before: Mapping[str, str] = (event.get("OldResourceProperties") or {}).get(FINGERPRINTS) or {}
    after: Mapping[str, str] = new.get(FINGERPRINTS) or {}
    allowed = set(new.get(REPLACE_VALUE_ON_EDIT) or ())
    changed = sorted(name for name in after if name in before and before[name] != after[name] and name not in allowed)
    if not changed:
        return GuardVerdict(True, "no live secret's value is overwritten", new_id)
    more = len(changed) - MAX_NAMED
    shown = ", ".join(changed[:MAX_NAMED]) + (f" and {more} more" if more > 0 else "")
    reason = (
        f"this deploy would overwrite the live value of {shown}: its first-value settings changed (target fields "
        "such as host, port, username, or the password settings), and CloudFormation writes a new AWSCURRENT for "
        "that, which the target does not know. Nothing was changed. Revert the edit, or change the secret itself "
        "(docs/deploy.md, 'Editing a deployed secret'), or give a secret nothing uses yet replace_value_on_edit: true"
    )
    return GuardVerdict(False, reason, current_id)
