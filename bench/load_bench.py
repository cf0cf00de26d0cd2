"""Applications through the consumer library while secrets rotate back to back, per kind:

- library soak: 2 client threads, a new login per request, beside the raw soak (clients that
  read AWSCURRENT themselves) on the same kind and rotation count;
- load: 4 forked worker processes with 8 client threads each, 32 clients on pools (SQLAlchemy
  QueuePool, redis-py BlockingConnectionPool; the cache warm in the parent before the fork, as
  gunicorn --preload does), Secrets Manager over loopback HTTP; every fourth request drops its
  pooled connection, so logins keep happening. The parent process only rotates (it plays
  Secrets Manager and the Lambda), as in production, where the rotation runs elsewhere.

Reported: failed / made requests, requests per second, rotations per minute.
"""

from __future__ import annotations

import logging
import os

import boto3
from moto import mock_aws

from bench.common import Row, SuiteResult
from lambdas.rotation.telemetry import logger
from local_rotation.server import local_aws
from reliability import soak
from reliability.kinds.registry import HARNESSES
from reliability.load import load_soak
from reliability.soak import library_soak


def run(quick: bool) -> SuiteResult:
    rotations = 2 if quick else 100
    threads, processes, threads_per_process = (0, 2, 2) if quick else (0, 4, 8)
    logger.setLevel(logging.CRITICAL)
    logging.getLogger("local_rotation").setLevel(logging.ERROR)
    logging.getLogger("secret_rotation_kit").setLevel(logging.ERROR)  # rejected logins are expected, and counted
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # many clients, one pool each: by design
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = SuiteResult(title="Consumer library under rotation: soak and load (secret_rotation_kit)")
    for kind, start in HARNESSES.items():
        with mock_aws(), start() as harness:
            client = boto3.client("secretsmanager")
            raw = soak(harness, client, harness.create_secret(client, f"bench/{kind}/raw"), rotations=rotations)
            library = library_soak(harness, client, harness.create_secret(client, f"bench/{kind}/lib"),
                                   rotations=rotations)  # fmt: skip
        with local_aws(), start() as harness:
            client = boto3.client("secretsmanager")
            loaded = load_soak(harness, client, harness.create_secret(client, f"bench/{kind}/load"),
                               rotations=rotations, threads=threads, processes=processes,
                               threads_per_process=threads_per_process)  # fmt: skip
        result.rows += [
            Row(f"{kind}: raw clients, failed / made", f"{raw.failures} / {raw.requests}", "requests",
                f"{raw.rotations} rotations, 2 threads reading AWSCURRENT themselves, "
                f"{raw.rotations_per_minute:.0f} rotations/min"),
            Row(f"{kind}: through the library, failed / made", f"{library.failures} / {library.requests}",
                "requests", f"{library.rotations} rotations, 2 threads, a new login per request, "
                f"{library.rotations_per_minute:.0f} rotations/min"),
            Row(f"{kind}: load through the library, failed / made", f"{loaded.failures} / {loaded.requests}",
                "requests", f"{loaded.rotations} rotations ({loaded.rotation_failures} failed), "
                f"{loaded.clients} pooled clients ({processes} forked processes x {threads_per_process} threads"
                f"{f' + {threads} in the parent' if threads else ''}), "
                f"{loaded.requests_per_second:.0f} requests/s, {loaded.rotations_per_minute:.0f} rotations/min"),
        ]  # fmt: skip
        result.raw[kind] = {
            "raw": {"requests": raw.requests, "failures": raw.failures, "reasons": dict(raw.failure_reasons)},
            "library": {"requests": library.requests, "failures": library.failures,
                        "reasons": dict(library.failure_reasons)},
            "load": {"requests": loaded.requests, "failures": loaded.failures, "clients": loaded.clients,
                     "rotations": loaded.rotations, "duration_s": round(loaded.duration_s, 1),
                     "reasons": dict(loaded.failure_reasons)},
        }  # fmt: skip
    return result
