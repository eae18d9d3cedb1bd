"""``advisor check``: the checks behind the pre-commit hooks."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["check"]


from advisor.cli._app import cli
from advisor.cli._common import knowledge_store_option
from advisor.cli._progress import progress_events


def _locks_for(paths: tuple[Path, ...]) -> list[Path]:
    """The locks to check: locks named directly, and the lock beside each named input."""
    if not paths:
        found = [p for p in (Path("pylock.toml"), Path("requirements.txt")) if p.is_file()]
        if not found:
            raise click.UsageError("no lock given, and no pylock.toml or requirements.txt here")
        return found[:1]
    locks: list[Path] = []
    for path in paths:
        if not path.exists():
            raise click.UsageError(f"{path}: no such file")
        name = path.name
        if name.startswith("pylock") and name.endswith(".toml"):
            lock_path: Path | None = path
        elif name.endswith(".txt") and "requirements" in name:
            lock_path = path
        else:  # an input (requirements.in, pyproject.toml, ...): the lock beside it
            beside = [
                path.parent / "pylock.toml",
                path.with_suffix(".txt") if path.suffix == ".in" else None,
                path.parent / "requirements.txt",
            ]
            lock_path = next((p for p in beside if p is not None and p.is_file()), None)
            if lock_path is None:
                continue
        if lock_path is not None and lock_path not in locks:
            locks.append(lock_path)
    return locks


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github: workflow annotations.",
)
@click.option("--osv", type=click.Path(path_type=Path, exists=True), help="An OSV dump to use.")
@knowledge_store_option
@click.option("--online", is_flag=True, help="Also ask the index whether a pin was yanked.")
@click.option("--fix", is_flag=True, help="Re-lock a lock that is merely stale.")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(
        ["freshness", "hashes", "indexes", "advisories", "prescriptions", "environments"]
    ),
    help="Run only these checks (repeatable).",
)
@click.option(
    "--inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For a requirements.txt lock: the file(s) it was made from (default: NAME.in).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no 'ok' line on stderr.")
def check(
    paths: tuple[Path, ...],
    fmt: str,
    osv: Path | None,
    knowledge_url: str | None,
    online: bool,
    fix: bool,
    only: tuple[str, ...],
    inputs: tuple[Path, ...],
    quiet: bool,
) -> None:
    """Check locks (and the inputs that feed them): fresh, hashed, allowed indexes, no
    known advisory, covered environments. Exit 0 clean, 1 findings, 2 usage error."""
    from advisor.api.checking import CheckOptions, run_check
    from advisor.check import render_findings

    locks = _locks_for(paths)
    if not locks:
        return  # only inputs without a lock beside them were named
    with progress_events(quiet=quiet) as events:
        report = run_check(
            locks,
            opts=CheckOptions(
                knowledge=knowledge_url,
                osv=osv,
                online=online,
                fix=fix,
                inputs=inputs,
                only=frozenset(only),
            ),
            events=events,
        )
    for shown in report.fixed:
        click.echo(f"re-locked {shown}: stage the new lock", err=True)
    if report.findings:
        click.echo(render_findings(report.findings, fmt=fmt))
    elif fmt == "json":
        click.echo("[]")
    if fmt == "text" and not report.findings and not quiet:
        click.echo(f"ok: {', '.join(report.checked)}", err=True)
    if report.findings or report.fixed:
        click.get_current_context().exit(1)
