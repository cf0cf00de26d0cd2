"""Which Regions the cache reads a secret from, in order of preference, and where each one's
Secrets Manager endpoint is: from arguments or the environment.

- ``SECRET_ROTATION_REGIONS`` (``us-west-2,us-east-1``): read from the first Region; when its
  Secrets Manager fails or times out, from the next.
- ``SECRET_ROTATION_ENDPOINT_URLS`` (``us-east-1=https://vpce-…,us-west-2=…``): an endpoint per
  Region (a VPC endpoint, FIPS, a local emulation); the others use the default one.

A replica has the primary's name and ARN, but for the Region (Secrets Manager user guide,
"Replicate secrets across Regions"), so a secret is asked for by its name in every Region, or
by its ARN with that Region's name in place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

REGIONS_VARIABLE = "SECRET_ROTATION_REGIONS"
ENDPOINTS_VARIABLE = "SECRET_ROTATION_ENDPOINT_URLS"
# Secrets Manager's RegionType (botocore's service model): ^([a-z]+-)+\d+$, at most 128 characters.
_REGION = re.compile(r"^([a-z]+-)+\d+$")


@dataclass(frozen=True)
class RegionSettings:
    """``regions`` in order of preference; empty: the default Region only (no failover)."""

    regions: tuple[str, ...] = ()
    endpoint_urls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls, regions: Sequence[str] | None = None, endpoint_urls: Mapping[str, str] | None = None
    ) -> RegionSettings:
        """Arguments that are not None, else the environment; validated, naming what is wrong."""
        source = "regions"
        if regions is None:
            source = REGIONS_VARIABLE
            regions = [part.strip() for part in os.environ.get(REGIONS_VARIABLE, "").split(",") if part.strip()]
        if isinstance(regions, str):
            raise ValueError(f"{source} must be a list of Region names, got the string {regions!r}")
        chosen = tuple(regions)
        for region in chosen:
            if not isinstance(region, str) or len(region) > 128 or not _REGION.match(region):
                raise ValueError(f"{source}: {region!r} is not a Region name (like us-east-1)")
        repeated = sorted({region for region in chosen if chosen.count(region) > 1})
        if repeated:
            raise ValueError(f"{source} lists {', '.join(repeated)} twice")
        endpoints = dict(endpoint_urls) if endpoint_urls is not None else _endpoints_from_env()
        where = "endpoint_urls" if endpoint_urls is not None else ENDPOINTS_VARIABLE
        for region, url in endpoints.items():
            if region not in chosen:
                raise ValueError(f"{where} names {region!r}, which is not one of the regions ({', '.join(chosen)})")
            if not re.match(r"^https?://[^\s/]+", url):
                raise ValueError(f"{where}: the endpoint of {region} must be an http(s) URL, got {url!r}")
        return cls(chosen, endpoints)


def _endpoints_from_env() -> dict[str, str]:
    endpoints: dict[str, str] = {}
    for item in os.environ.get(ENDPOINTS_VARIABLE, "").split(","):
        if not item.strip():
            continue
        region, separator, url = item.strip().partition("=")
        if not separator or not url.strip():
            raise ValueError(f"{ENDPOINTS_VARIABLE}: {item.strip()!r} is not <region>=<url>")
        endpoints[region.strip()] = url.strip()
    return endpoints


def regional_secret_id(secret_id: str, region: str) -> str:
    """``secret_id`` as asked in ``region``: a name as is, an ARN with ``region`` in its place."""
    if not secret_id.startswith("arn:"):
        return secret_id
    parts = secret_id.split(":")
    if len(parts) < 7:
        return secret_id
    return ":".join([*parts[:3], region, *parts[4:]])
