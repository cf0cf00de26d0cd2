"""Local AWS on loopback: moto's server in this process, with the environment pointing at it.

Used by the demo, the benchmarks and tests that want real HTTP between the function and
"AWS": the unmodified handler code reaches it through ``AWS_ENDPOINT_URL``. Because the server
runs in this process, the driver can still stage versions in moto's backend directly.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

LOOPBACK = "127.0.0.1"
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_aws(
    port: int | None = None, *, rotation_functions: Mapping[str, Callable[[dict[str, Any], Any], Any]] | None = None
) -> Iterator[str]:
    """Run moto's server on 127.0.0.1 and point every default-built boto3 client at it.

    Yields the endpoint URL. The previous environment is restored on exit.
    ``rotation_functions`` (Lambda ARN or name -> handler) makes RotateSecret run them, as the
    service does (``local_rotation.service_hook``); rotations still running are waited for on exit.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per API call otherwise
    port = port or free_loopback_port()
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    endpoint = f"http://{LOOPBACK}:{port}"
    overrides = {**FAKE_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}
    saved = {name: os.environ.get(name) for name in (*overrides, "AWS_PROFILE")}
    os.environ.update(overrides)
    os.environ.pop("AWS_PROFILE", None)
    if rotation_functions:
        from .service_hook import register_rotation_function

        for function, handler in rotation_functions.items():
            register_rotation_function(function, handler)
    try:
        yield endpoint
    finally:
        if rotation_functions:
            from .service_hook import unregister_rotation_function, wait_for_rotations

            wait_for_rotations()
            for function in rotation_functions:
                unregister_rotation_function(function)
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
