"""AWS Region names, from botocore's endpoint data rather than a hand-typed list.

botocore ships the partitions and the Regions where each service has an endpoint
(``botocore/data/endpoints.json``); a Region is valid here when both Secrets Manager and KMS
are offered in it (a replica needs its own key there). Secrets Manager replicates only within
a partition: "You can't replicate a secret in your enabled AWS Regions to a specialized Region
or replicate secrets from a specialized region to a commercial region" (Secrets Manager user
guide, "Replicate secrets across Regions"). A Region launched after the pinned botocore is
unknown until botocore is upgraded; the error says so.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

import botocore
import botocore.session

SERVICES = ("secretsmanager", "kms")


@lru_cache(maxsize=1)
def regions_by_partition() -> dict[str, frozenset[str]]:
    """{partition: Regions where every service of ``SERVICES`` has an endpoint}."""
    session = botocore.session.get_session()
    found: dict[str, frozenset[str]] = {}
    for partition in session.get_available_partitions():
        offered = [set(session.get_available_regions(service, partition_name=partition)) for service in SERVICES]
        found[partition] = frozenset(set.intersection(*offered))
    return found


def partition_of_known_region(region: str) -> str | None:
    """The partition botocore places ``region`` in, or None when it knows no such Region."""
    return next((partition for partition, regions in regions_by_partition().items() if region in regions), None)


def check_region(region: str, partition: str) -> None:
    """Raise ``ValueError`` unless ``region`` is a Secrets Manager and KMS Region of ``partition``."""
    if region in regions_by_partition().get(partition, frozenset()):
        return
    other = partition_of_known_region(region)
    if other is not None:
        raise ValueError(
            f"{region!r} is in partition {other}, the environment is in {partition}: Secrets Manager replicates "
            "only within a partition"
        )
    known = sorted(regions_by_partition().get(partition, frozenset()))
    close = difflib.get_close_matches(region, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"{region!r} is not a Region where Secrets Manager and KMS are offered in partition {partition}{hint}, "
        f"by botocore {botocore.__version__}'s endpoint data; a Region newer than botocore needs a botocore upgrade"
    )
