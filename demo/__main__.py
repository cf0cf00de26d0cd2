"""`make demo`: rotate every secret kind against real local servers and an emulated Secrets Manager."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import nullcontext

from demo import hmac_demo, postgres_demo, sample_app, valkey_demo
from lambdas.rotation.telemetry import quiet_function_telemetry
from local_rotation.server import local_aws

# Each kind's demo: a name and a function returning True when every expectation held.
SECTIONS: dict[str, Callable[[], bool]] = {
    "hmac": hmac_demo.run,
    "postgres": postgres_demo.run,
    "valkey": valkey_demo.run,
    "sample-app": sample_app.run,  # last: the app keeps working while the operator rotates
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "sections", nargs="*", metavar="KIND", help=f"kinds to show: {', '.join(SECTIONS)} (default: all)"
    )
    parser.add_argument("--verbose", action="store_true", help="also print the functions' JSON logs and EMF metrics")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    chosen = args.sections or list(SECTIONS)
    quiet = nullcontext() if args.verbose else quiet_function_telemetry()
    with quiet, local_aws() as endpoint:
        print(f"Secrets Manager emulated by moto at {endpoint} (loopback only, no AWS account)")
        results = {name: SECTIONS[name]() for name in chosen}
    print("\n=== summary ===")
    for name, ok in results.items():
        print(f"  {name:<10} {'ok' if ok else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
