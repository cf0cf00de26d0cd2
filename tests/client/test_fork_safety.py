"""Forked workers (gunicorn --preload, Celery prefork) after a read in the parent (issue 15,
defect 2): a child opens its own connection to Secrets Manager instead of reading from the
parent's socket, refuses an answer about another secret, and never hangs on a lock or a call
that another thread of the parent held at fork. Real ``os.fork`` (multiprocessing 'fork')."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from local_rotation.server import LOOPBACK
from secret_rotation_kit import SecretCache, SecretUnavailableError
from tests.client.fakes import FIRST, NAME, FakeClock, FakeSecretsManager

FORK = multiprocessing.get_context("fork")
JOIN_S = 30


class _SecretsManagerHandler(BaseHTTPRequestHandler):
    """Enough of the Secrets Manager JSON protocol for GetSecretValue: every secret's value
    names the secret. Keep-alive, as AWS's endpoint, so clients pool the connection."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        secret_id = request["SecretId"]
        with self.server.lock:
            self.server.peers.append((secret_id, self.client_address[1]))
        body = json.dumps({
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_id}-AbCdEf",
            "Name": secret_id, "VersionId": "11111111-2222-3333-4444-555555555555",
            "VersionStages": ["AWSCURRENT"], "SecretString": json.dumps({"owner": secret_id}),
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _SecretsManagerHandler)
        self.lock = threading.Lock()
        self.peers: list[tuple[str, int]] = []  # (secret asked for, client's source port)


@pytest.fixture
def http_secretsmanager() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _child_reads(cache: SecretCache, secret_id: str, results: Any) -> None:
    try:
        results.put(("ok", cache.get(secret_id)))
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _run_child(target: Any, *args: Any) -> tuple[str, str]:
    results = FORK.Queue()
    child = FORK.Process(target=target, args=(*args, results))
    child.start()
    child.join(JOIN_S)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"the forked child hung for {JOIN_S} s")
    assert child.exitcode == 0
    outcome: tuple[str, str] = results.get(timeout=5)
    return outcome


def test_a_forked_child_reads_through_its_own_connection_not_the_parents(http_secretsmanager: _Server) -> None:
    endpoint = f"http://{LOOPBACK}:{http_secretsmanager.server_port}"
    cache = SecretCache(boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1"))
    assert json.loads(cache.get("app/parent")) == {"owner": "app/parent"}  # the client now pools a connection
    ((_, parent_port),) = http_secretsmanager.peers

    outcome = _run_child(_child_reads, cache, "app/worker-1")

    assert outcome == ("ok", json.dumps({"owner": "app/worker-1"}))
    child_ports = [port for secret, port in http_secretsmanager.peers if secret == "app/worker-1"]
    assert child_ports
    assert parent_port not in child_ports


def test_the_default_client_is_rebuilt_in_a_forked_child(http_secretsmanager: _Server, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{LOOPBACK}:{http_secretsmanager.server_port}")
    cache = SecretCache()
    cache.get("app/parent")
    ((_, parent_port),) = http_secretsmanager.peers

    outcome = _run_child(_child_reads, cache, "app/worker-2")

    assert outcome == ("ok", json.dumps({"owner": "app/worker-2"}))
    assert parent_port not in [port for secret, port in http_secretsmanager.peers if secret == "app/worker-2"]


def test_an_answer_about_another_secret_is_refused_and_never_cached() -> None:
    fake = FakeSecretsManager(NAME, FIRST)
    fake.answer_as = "app/test/other-worker"
    cache = SecretCache(fake)

    with pytest.raises(SecretUnavailableError, match=r"answered about another secret \('app/test/other-worker'\)"):
        cache.get(NAME)
    fake.answer_as = None
    cache.invalidate(NAME)

    assert cache.get(NAME) == FIRST


def _child_reads_after_expiry(cache: SecretCache, clock: FakeClock, fake: FakeSecretsManager, results: Any) -> None:
    fake.gate = None  # the child's copy of Secrets Manager answers; the parent's stays held
    clock.advance(301)
    _child_reads(cache, NAME, results)


def test_a_lock_held_by_another_parent_thread_at_fork_does_not_hang_the_child() -> None:
    fake, clock = FakeSecretsManager(NAME, FIRST), FakeClock()
    cache = SecretCache(fake, ttl=300, max_stale=0, clock=clock)
    cache.get(NAME)
    holding, release = threading.Event(), threading.Event()

    def hold_the_entry_lock() -> None:
        with cache._entries[NAME].lock:
            holding.set()
            release.wait(JOIN_S)

    holder = threading.Thread(target=hold_the_entry_lock, daemon=True)
    holder.start()
    assert holding.wait(JOIN_S)
    try:
        outcome = _run_child(_child_reads_after_expiry, cache, clock, fake)
    finally:
        release.set()
        holder.join(JOIN_S)

    assert outcome == ("ok", FIRST)


def test_a_call_in_flight_in_the_parent_at_fork_is_not_waited_for_by_the_child() -> None:
    fake, clock = FakeSecretsManager(NAME, FIRST), FakeClock()
    cache = SecretCache(fake, ttl=300, version_check_interval=30, max_stale=0, clock=clock)
    cache.get(NAME)
    fake.gate = threading.Event()  # the parent's next call hangs until the test ends
    fake.call_started.clear()
    clock.advance(31)
    cache.get(NAME)  # starts a background check that is now held open
    assert fake.call_started.wait(JOIN_S)
    try:
        outcome = _run_child(_child_reads_after_expiry, cache, clock, fake)
    finally:
        fake.gate.set()
        assert cache.wait_for_refreshes()

    assert outcome == ("ok", FIRST)


def test_a_partial_arn_without_the_random_suffix_is_the_same_secret(secretsmanager: Any) -> None:
    """Secrets Manager appends a hyphen and six random characters to a secret's ARN and finds a
    secret by its ARN without them; the identity check accepts exactly that, nothing looser."""
    arn = secretsmanager.create_secret(Name="app/test/partial", SecretString=FIRST)["ARN"]
    partial = arn[: -len("-AbCdEf")]
    cache = SecretCache(secretsmanager)

    assert cache.get(partial) == FIRST
    with pytest.raises(SecretUnavailableError, match="answered about another secret"):
        SecretCache(_Renamed(secretsmanager, arn)).get(partial[:-1])


class _Renamed:
    """Answers any id with the secret ``arn``: a response that does not match the request."""

    def __init__(self, client: Any, arn: str) -> None:
        self._client, self._arn = client, arn

    def get_secret_value(self, **kwargs: Any) -> Any:
        return self._client.get_secret_value(**{**kwargs, "SecretId": self._arn})

    def describe_secret(self, **kwargs: Any) -> Any:
        return self._client.describe_secret(**{**kwargs, "SecretId": self._arn})
