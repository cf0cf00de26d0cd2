"""``secret-rotation``: status, rotate, verify and history of rotated secrets.

Talks to Secrets Manager (``--endpoint-url`` for the local emulation, ``--region``), prints
fingerprints (first 12 hex characters of SHA-256), never a value. Exit codes: 0 success,
1 a rotation or a verification failed, 2 an error the operator can fix (credentials,
unknown secret, no rotation configured, bad arguments).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from secret_rotation_kit.snapshot import ALL_STAGES, AWSCURRENT
from secret_rotation_kit.upstream import fetch_snapshot

from .aws import Aws, CliError, call, describe, list_secrets, operator_errors, require_rotation
from .inspect import (
    fingerprint,
    in_environment,
    kind_of,
    overdue,
    schedule_of,
    stage_sort_key,
    value_of,
    versions,
    when,
)
from .verify import check_stage
from .wait import function_errors, wait_for_rotation

app = typer.Typer(
    name="secret-rotation",
    help="See, start and check Secrets Manager rotations. Prints fingerprints, never values.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def _aws(ctx: typer.Context) -> Aws:
    settings = ctx.obj
    assert isinstance(settings, Aws)
    return settings


def _client(ctx: typer.Context, service: str = "secretsmanager") -> Any:
    from botocore.exceptions import NoRegionError

    try:
        return _aws(ctx).client(service)
    except NoRegionError:
        raise CliError("no AWS region: pass --region or set AWS_DEFAULT_REGION") from None


def _fail(error: CliError) -> typer.Exit:
    Console(stderr=True, highlight=False, width=200).print(f"error: {error}", markup=False)
    return typer.Exit(code=error.exit_code)


@app.callback()
def main(
    ctx: typer.Context,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Secrets Manager endpoint, e.g. the local emulation's URL.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: the AWS configuration).")] = None,
) -> None:
    """See, start and check Secrets Manager rotations. Prints fingerprints, never values."""
    ctx.obj = Aws(endpoint_url=endpoint_url, region=region)


@app.command()
def status(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment (tag or name segment).")] = None,
) -> None:
    """Every secret: kind, rotation on/off, schedule, last/next rotation, overdue, stages with fingerprints."""
    try:
        client = _client(ctx)
        listed = list_secrets(client)
        now = datetime.now(UTC)
        table = Table("secret", "kind", "rotation", "schedule", "last rotated", "next rotation", "overdue", "stages")
        shown = 0
        for entry in sorted(listed, key=lambda item: str(item.get("Name"))):
            if env is not None and not in_environment(entry, env):
                continue
            name = str(entry["Name"])
            with operator_errors(name, "GetSecretValue"):
                staged = versions(client, name, include_unstaged=False)
                current_text = next((row.value for row in staged if AWSCURRENT in row.stages), None)
            stages = "\n".join(
                f"{','.join(sorted(row.stages, key=lambda s: stage_sort_key((s,))))} {row.fingerprint or '(no value)'}"
                for row in staged
            )
            table.add_row(
                name,
                kind_of(entry, current_text),
                "on" if entry.get("RotationEnabled") else "off",
                schedule_of(entry),
                when(entry.get("LastRotatedDate")),
                when(entry.get("NextRotationDate")),
                "OVERDUE" if overdue(entry, now) else "no",
                stages,
            )
            shown += 1
    except CliError as error:
        raise _fail(error) from None
    console = _console()
    if not shown:
        console.print(f"no secrets{f' in environment {env!r}' if env else ''}")
        return
    console.print(table)


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
    console = _console()
    try:
        if bool(secret) == all_secrets:
            raise CliError("give one SECRET or --all (not both, not neither)")
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
        failed = 0
        for target in targets:
            failed += not _rotate_one(ctx, client, target, dry_run=dry_run, wait=wait, timeout=timeout, console=console)
    except CliError as error:
        raise _fail(error) from None
    if failed:
        raise typer.Exit(code=1)


def _rotate_one(
    ctx: typer.Context,
    client: Any,
    target: dict[str, Any],
    *,
    dry_run: bool,
    wait: bool,
    timeout: float,
    console: Console,
) -> bool:
    name, arn, function = str(target["Name"]), str(target["ARN"]), require_rotation(target)
    if dry_run:
        stages = target.get("VersionIdsToStages") or target.get("SecretVersionsToStages") or {}
        current = next((vid for vid, labels in stages.items() if AWSCURRENT in labels), None)
        console.print(f"would rotate {name} with {function} (AWSCURRENT is version {current})", markup=False)
        return True
    started_ms = int(time.time() * 1000) - 1000
    response = call(name, "RotateSecret", client.rotate_secret, SecretId=arn)
    version_id = str(response.get("VersionId", ""))
    console.print(f"started rotation of {name}: new version {version_id}", markup=False)
    if not wait:
        return True
    logs = _client(ctx, "logs")

    def has_value() -> bool:
        with operator_errors(name, "GetSecretValue"):
            return value_of(client, arn, version_id) is not None

    result = wait_for_rotation(
        describe=lambda: describe(client, arn),
        has_value=has_value,
        errors=lambda: function_errors(logs, function, started_ms, version_id),
        version_id=version_id,
        timeout=timeout,
        on_progress=lambda phase: console.print(f"  {name}: {phase}", markup=False),
    )
    if result.succeeded:
        console.print(f"rotation of {name} succeeded", markup=False)
        return True
    console.print(f"rotation of {name} FAILED: {result.reason}", markup=False)
    return False


@app.command()
def verify(ctx: typer.Context, secret: Annotated[str, typer.Argument(help="Secret name or ARN.")]) -> None:
    """Log in with AWSCURRENT and AWSPREVIOUS (and AWSPENDING) against the real target; say which work."""
    try:
        client = _client(ctx)
        described = describe(client, secret)
        with operator_errors(secret, "GetSecretValue"):
            snapshot = fetch_snapshot(client, secret, ALL_STAGES, time.monotonic())
        kind = kind_of(described, snapshot.value(AWSCURRENT))
    except CliError as error:
        raise _fail(error) from None
    table = Table("stage", "version", "fingerprint", "result", "detail")
    current_works = False
    for stage in ALL_STAGES:
        if not snapshot.has(stage):
            continue
        outcome = check_stage(kind, snapshot, stage)
        verdict = {True: "works", False: "REJECTED", None: "not checked"}[outcome.works]
        if kind == "postgres_single" and stage != AWSCURRENT and outcome.works is False:
            verdict += " (expected: single user)"
        current_works |= stage == AWSCURRENT and outcome.works is True
        table.add_row(
            stage, str(snapshot.version_id(stage)), fingerprint(snapshot.value(stage)), verdict, outcome.detail
        )
    console = _console()
    console.print(f"{described['Name']} ({kind})", markup=False)
    console.print(table)
    if not current_works:
        raise typer.Exit(code=1)


@app.command()
def history(ctx: typer.Context, secret: Annotated[str, typer.Argument(help="Secret name or ARN.")]) -> None:
    """Every version: stages, creation date, fingerprint."""
    try:
        client = _client(ctx)
        described = describe(client, secret)
        with operator_errors(secret, "ListSecretVersionIds"):
            rows = versions(client, secret, include_unstaged=True)
    except CliError as error:
        raise _fail(error) from None
    table = Table("version", "stages", "created", "fingerprint")
    for row in rows:
        table.add_row(row.version_id, ",".join(row.stages) or "-", when(row.created), row.fingerprint or "(no value)")
    console = _console()
    console.print(
        f"{described['Name']}: rotation {'on' if described.get('RotationEnabled') else 'off'}, "
        f"last rotated {when(described.get('LastRotatedDate'))}",
        markup=False,
    )
    console.print(table)
