"""``secret-rotation``: status, rotate, verify and history of rotated secrets.

Talks to Secrets Manager (``--profile``, ``--region``, ``--endpoint-url`` for the local
emulation). ``status`` and ``rotate`` read no secret value (DescribeSecret, ListSecrets,
ListSecretVersionIds, RotateSecret only), except ``rotate --wait``, which asks GetSecretValue
whether the new version has a value yet (and discards it); ``verify`` reads values to log in
with them; nothing prints a value or a plain hash of one. Exit codes: 0 success, 1 a rotation or a verification
failed (or an earlier rotation is unfinished), 2 an error the operator can fix (profile,
credentials, region, unknown secret, no rotation configured, bad arguments).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from secret_rotation_kit import __version__
from secret_rotation_kit.snapshot import ALL_STAGES, AWSCURRENT
from secret_rotation_kit.upstream import fetch_snapshot

from .aws import Aws, CliError, call, describe, list_secrets, operator_errors, region_of, require_rotation
from .inspect import (
    digest_key,
    in_environment,
    kind_of,
    overdue,
    replicas_of,
    schedule_of,
    staged_versions,
    value_of,
    versions,
    when,
)
from .output import Output
from .verify import check_stage
from .wait import function_errors, wait_for_rotation

app = typer.Typer(
    name="secret-rotation",
    help="See, start and check Secrets Manager rotations. Shows version ids, never values.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Settings:
    def __init__(self, aws: Aws, output: Output) -> None:
        self.aws = aws
        self.output = output


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def _client(ctx: typer.Context, service: str = "secretsmanager") -> Any:
    return _settings(ctx).aws.client(service)


def _fail(ctx: typer.Context, error: CliError) -> typer.Exit:
    output = ctx.obj.output if isinstance(ctx.obj, Settings) else Output()
    output.error(str(error))
    return typer.Exit(code=error.exit_code)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"secret-rotation {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Secrets Manager endpoint, e.g. the local emulation's URL.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: the AWS configuration).")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (stdout) instead of tables.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """See, start and check Secrets Manager rotations. Shows version ids, never values.

    Output is a table on a terminal, tab-separated lines when piped, JSON with --json.
    """
    ctx.obj = Settings(Aws(endpoint_url=endpoint_url, region=region, profile=profile), Output(as_json=as_json))


@app.command()
def status(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment (tag or name segment).")] = None,
) -> None:
    """Every secret: kind, rotation on/off, schedule, last/next rotation, overdue, staged version ids,
    and its replicas with their replication status.

    Reads no secret value (ListSecrets and DescribeSecret only). A secret that cannot be
    described is shown as unreadable and the others still are.
    """
    output = _settings(ctx).output
    try:
        client = _client(ctx)
        listed = list_secrets(client)
    except CliError as error:
        raise _fail(ctx, error) from None
    now = datetime.now(UTC)
    rows: list[list[str]] = []
    documents: list[dict[str, Any]] = []
    unreadable = 0
    for entry in sorted(listed, key=lambda item: str(item.get("Name"))):
        if env is not None and not in_environment(entry, env):
            continue
        name = str(entry["Name"])
        try:
            described = describe(client, str(entry.get("ARN") or name))
        except CliError as error:
            unreadable += 1
            rows.append([name, "unreadable", "-", "-", "-", "-", "-", str(error), "-"])
            documents.append({"name": name, "error": str(error)})
            continue
        staged = staged_versions(described)
        replicas = replicas_of(described)
        document = {
            "name": name,
            "kind": kind_of(described),
            "rotation": bool(described.get("RotationEnabled")),
            "schedule": schedule_of(described),
            "last_rotated": when(described.get("LastRotatedDate")),
            "next_rotation": when(described.get("NextRotationDate")),
            "overdue": overdue(described, now),
            "versions": [row.to_json() for row in staged],
            "replicas": [replica.to_json() for replica in replicas],
        }
        documents.append(document)
        rows.append(
            [
                name,
                str(document["kind"]),
                "on" if document["rotation"] else "off",
                str(document["schedule"]),
                str(document["last_rotated"]),
                str(document["next_rotation"]),
                "OVERDUE" if document["overdue"] else "no",
                "\n".join(f"{','.join(row.stages)} {row.version_id}" for row in staged),
                "\n".join(replica.line() for replica in replicas) or "-",
            ]
        )
    if output.as_json:
        output.document(documents)
    elif not rows:
        output.line(f"no secrets{f' in environment {env!r}' if env else ''}")
    else:
        output.table(
            (
                "secret",
                "kind",
                "rotation",
                "schedule",
                "last rotated",
                "next rotation",
                "overdue",
                "stages",
                "replicas",
            ),
            rows,
        )
    if unreadable:
        output.error(f"{unreadable} secret(s) could not be described (shown as unreadable)")


@app.command()
def rotate(
    ctx: typer.Context,
    secret: Annotated[str | None, typer.Argument(help="Secret name or ARN.")] = None,
    all_secrets: Annotated[bool, typer.Option("--all", help="Every secret with rotation configured.")] = False,
    env: Annotated[str | None, typer.Option("--env", help="With --all: only this environment.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would rotate; change nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow each rotation until it finishes or fails.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait per rotation with --wait.")] = 300.0,
) -> None:
    """Start a rotation through Secrets Manager (RotateSecret); with --wait, follow it to the end."""
    output = _settings(ctx).output
    try:
        if bool(secret) == all_secrets:
            raise CliError("give one SECRET or --all (not both, not neither)")
        if not timeout > 0:
            raise CliError(f"--timeout must be more than 0 seconds, got {timeout:g}")
        client = _client(ctx)
        if all_secrets:
            targets = [
                entry
                for entry in list_secrets(client)
                if entry.get("RotationLambdaARN") and (env is None or in_environment(entry, env))
            ]
            if not targets:
                raise CliError(f"no secret has rotation configured{f' in environment {env!r}' if env else ''}")
        else:
            assert secret is not None
            targets = [describe(client, secret)]
        for target in targets:
            require_rotation(target)
        results = [_rotate_one(ctx, client, target, dry_run=dry_run, wait=wait, timeout=timeout) for target in targets]
    except CliError as error:
        raise _fail(ctx, error) from None
    if output.as_json:
        output.document(results)
    if any(result["outcome"] == "failed" for result in results):
        raise typer.Exit(code=1)


def _rotate_one(
    ctx: typer.Context, client: Any, target: dict[str, Any], *, dry_run: bool, wait: bool, timeout: float
) -> dict[str, Any]:
    output = _settings(ctx).output
    name, arn, function = str(target["Name"]), str(target["ARN"]), require_rotation(target)
    if dry_run:
        current = next((row.version_id for row in staged_versions(target) if AWSCURRENT in row.stages), None)
        output.line(f"would rotate {name} with {function} (AWSCURRENT is version {current})")
        return {"name": name, "function": function, "outcome": "dry-run", "current_version": current}
    started_ms = int(time.time() * 1000) - 1000
    response = call(name, "RotateSecret", client.rotate_secret, region_of(client), SecretId=arn)
    version_id = str(response.get("VersionId", ""))
    output.line(f"started rotation of {name}: new version {version_id}")
    result: dict[str, Any] = {"name": name, "function": function, "version_id": version_id, "outcome": "started"}
    if not wait:
        return result
    logs = _client(ctx, "logs")

    def has_value() -> bool:
        with operator_errors(name, "GetSecretValue"):
            return value_of(client, arn, version_id) is not None

    waited = wait_for_rotation(
        describe=lambda: describe(client, arn),
        has_value=has_value,
        errors=lambda: function_errors(logs, function, started_ms, version_id),
        version_id=version_id,
        timeout=timeout,
        on_progress=lambda phase: output.progress(f"  {name}: {phase}"),
    )
    if waited.succeeded:
        output.line(f"rotation of {name} succeeded")
        return {**result, "outcome": "succeeded"}
    output.line(f"rotation of {name} FAILED: {waited.reason}")
    return {**result, "outcome": "failed", "reason": waited.reason}


@app.command()
def verify(ctx: typer.Context, secret: Annotated[str, typer.Argument(help="Secret name or ARN.")]) -> None:
    """Log in with AWSCURRENT and AWSPREVIOUS (and AWSPENDING) against the real target; say which work."""
    output = _settings(ctx).output
    try:
        client = _client(ctx)
        described = describe(client, secret)
        with operator_errors(secret, "GetSecretValue", region_of(client)):
            snapshot = fetch_snapshot(client, str(described.get("ARN") or secret), ALL_STAGES, time.monotonic())
        kind = kind_of(described, snapshot.value(AWSCURRENT))
    except CliError as error:
        raise _fail(ctx, error) from None
    rows: list[list[str]] = []
    checks: list[dict[str, Any]] = []
    current_works = False
    for stage in ALL_STAGES:
        if not snapshot.has(stage):
            continue
        outcome = check_stage(kind, snapshot, stage)
        verdict = {True: "works", False: "REJECTED", None: "not checked"}[outcome.works]
        if kind == "postgres_single" and stage != AWSCURRENT and outcome.works is False:
            verdict += " (expected: single user)"
        current_works |= stage == AWSCURRENT and outcome.works is True
        rows.append([stage, str(snapshot.version_id(stage)), verdict, outcome.detail])
        checks.append({"stage": stage, "version_id": snapshot.version_id(stage), "works": outcome.works,
                       "result": verdict, "detail": outcome.detail})  # fmt: skip
    if output.as_json:
        output.document({"name": described["Name"], "kind": kind, "stages": checks})
    else:
        output.line(f"{described['Name']} ({kind})")
        output.table(("stage", "version", "result", "detail"), rows)
    if not current_works:
        raise typer.Exit(code=1)


@app.command()
def history(
    ctx: typer.Context,
    secret: Annotated[str, typer.Argument(help="Secret name or ARN.")],
    digest: Annotated[
        bool,
        typer.Option(
            "--digest",
            help="Also read each version and show a keyed digest (HMAC-SHA256; key random per run unless "
            "SECRET_ROTATION_DIGEST_KEY is set): equal digests mean equal values, and nothing can be "
            "confirmed from them without the key.",
        ),
    ] = False,
) -> None:
    """Every version: stages, creation date (and, with --digest, a keyed digest of its value)."""
    output = _settings(ctx).output
    try:
        client = _client(ctx)
        described = describe(client, secret)
        with operator_errors(secret, "ListSecretVersionIds", region_of(client)):
            rows = versions(
                client, secret, include_unstaged=True, key=digest_key() if digest else None, described=described
            )
    except CliError as error:
        raise _fail(ctx, error) from None
    if output.as_json:
        output.document({"name": described["Name"], "rotation": bool(described.get("RotationEnabled")),
                         "last_rotated": when(described.get("LastRotatedDate")),
                         "versions": [row.to_json() for row in rows]})  # fmt: skip
        return
    output.line(
        f"{described['Name']}: rotation {'on' if described.get('RotationEnabled') else 'off'}, "
        f"last rotated {when(described.get('LastRotatedDate'))}"
    )
    columns = ("version", "stages", "created", *(("digest",) if digest else ()))
    output.table(
        columns,
        [
            [row.version_id, ",".join(row.stages) or "-", when(row.created), *((row.digest or "-",) if digest else ())]
            for row in rows
        ],
    )
