"""``advisor env``, ``advisor lock`` and ``advisor install``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from advisor.api import LockOutcome

__all__ = ["env", "install", "lock"]


from advisor.cli._app import cli
from advisor.cli._common import (
    command_line,
    from_command_line,
    lock_output_options,
    pop_value,
    resolve_options,
    resolve_opts,
    server_option,
    setup_logging,
    stderr,
)
from advisor.cli._progress import progress_events


@cli.group()
def env() -> None:
    """Runtime environments."""


@env.command("detect")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
@click.option("--python", metavar="X.Y[.Z]", help="Describe this target instead of the host.")
@click.option("--platform", metavar="TAG", help="Describe this target platform.")
@click.option(
    "--implementation", type=click.Choice(["cp", "pp"]), help="Describe this implementation."
)
@click.option(
    "--cuda",
    metavar="X.Y",
    help="The target's CUDA (a target on another platform than this machine's has none).",
)
def env_detect(
    as_json: bool,
    python: str | None,
    platform: str | None,
    implementation: str | None,
    cuda: str | None,
) -> None:
    """Print this machine's runtime environment (or a target's, with --python/--platform)."""
    from advisor.api.environment import detect_environment
    from advisor.report.environment import render_environment

    target = detect_environment(
        python=python, platform=platform, implementation=implementation, cuda=cuda
    )
    click.echo(render_environment(target, as_json=as_json), nl=False)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@resolve_options
@lock_output_options
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--upgrade", "-U", is_flag=True, help="Ignore the pins of the existing lock.")
@click.option(
    "--upgrade-package",
    "-P",
    multiple=True,
    metavar="NAME",
    help="Let NAME move; keep every other pin of the existing lock (repeatable).",
)
@server_option
def lock(inputs: tuple[Path, ...], **kw: object) -> None:
    """Resolve INPUTS (requirements files or pyproject.toml) and write a lockfile."""
    from advisor.api import LockFormat, LockOptions
    from advisor.api import lock as run_lock

    as_json = bool(pop_value(kw, "as_json", bool))
    server = pop_value(kw, "server", str)
    if server and not from_command_line("cache_dir"):
        kw["cache_dir"] = None  # ADVISOR_CACHE_DIR: this machine's; the server has its own
    verbose, quiet = pop_value(kw, "verbose", int) or 0, bool(pop_value(kw, "quiet", bool))
    setup_logging(verbose, quiet)
    output = pop_value(kw, "output", Path)
    dry_run = bool(pop_value(kw, "dry_run", bool))
    default = "requirements" if output and output.suffix in {".txt", ".in"} else "pylock"
    fmt = LockFormat(pop_value(kw, "fmt", str) or default)
    opts = resolve_opts(kw)
    if not inputs:
        raise click.UsageError("name at least one requirements file or pyproject.toml")
    command = command_line()
    with progress_events(quiet=quiet) as events:
        outcome = run_lock(
            list(inputs),
            opts=opts,
            out=LockOptions(output=output, format=fmt, dry_run=dry_run, command=command),
            events=events,
            server=server,
        )
    to_stdout = dry_run or (output is not None and str(output) == "-")
    if as_json:  # the report layer only then (a plain lock's start-up)
        from advisor.report.lock import lock_json

        click.echo(json.dumps(lock_json(outcome, with_text=to_stdout), indent=2))
        return
    if to_stdout:
        click.echo(outcome.text, nl=False)
    if not quiet:
        _print_summary(outcome, dry_run=dry_run)


def _print_summary(outcome: LockOutcome, *, dry_run: bool) -> None:
    """The warnings, the pins that need a build, the changed pins and one line on stderr."""
    from rich.markup import escape

    console = stderr()
    for w in outcome.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for p in outcome.resolution.pins:
        if p.needs_build:
            console.print(f"[yellow]needs build:[/] {p.name} {p.version} has no wheel for a target")
    for name, old, new in outcome.changed:
        console.print(f"  {name}: {old or '(new)'} -> {new}")
    targets = ", ".join(
        f"{t.name} ({t.platform}, Python {t.python_version})" for t in outcome.targets
    )
    where = f" -> {outcome.path}" if outcome.path else (" (dry run)" if dry_run else "")
    console.print(f"Locked {len(outcome.resolution.pins)} packages for {targets}{where}")


@cli.command()
@click.argument("lockfile", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--python", "python", metavar="PATH", help="Interpreter to install into.")
@click.option(
    "--extra",
    "extras",
    multiple=True,
    metavar="NAME",
    help="Also install the lock's packages for this extra (repeatable).",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="Install this dependency group instead of the lock's default groups (repeatable).",
)
@click.option("--pip-arg", "pip_args", multiple=True, help="Extra argument for pip install.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors: no progress, no file list.")
def install(
    lockfile: Path,
    python: str | None,
    extras: tuple[str, ...],
    groups: tuple[str, ...],
    pip_args: tuple[str, ...],
    quiet: bool,
) -> None:
    """Install LOCKFILE (pylock.toml) with pip (--require-hashes --no-deps)."""
    from advisor.api import install_lock

    with progress_events(quiet=quiet) as events:
        result = install_lock(
            lockfile,
            python=python or sys.executable,
            extras=extras,
            groups=groups,
            environ=dict(os.environ),
            pip_args=pip_args,
            events=events,
        )
    if quiet:
        return
    console = stderr()
    for f in result.installed:
        console.print(f"  {f.name} {f.version or ''} ({f.filename})")
    console.print(f"Installed {len(result.installed)} packages from {lockfile}")
