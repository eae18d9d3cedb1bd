"""The ``advisor`` command line (click). The only module that exits the process.

Exit codes (also in the README): 0 success; 1 no consistent stack (a conflict, explained);
2 bad input or usage (file and line named); 3 the index, network or cache failed (URL named);
4 an internal error (a bug: please report it); 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["main"]

EXIT_INTERNAL = 4


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _parse_timestamp(value: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            stamp = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2024-05-01) or an RFC 3339 timestamp (2024-05-01T00:00:00Z)"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def resolve_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every resolving command takes."""
    options = [
        click.option("--index-url", "-i", metavar="URL", help="Primary index (PEP 503/691)."),
        click.option(
            "--extra-index-url", metavar="URL", multiple=True, help="Further index (repeatable)."
        ),
        click.option(
            "--find-links", "-f", metavar="DIR|URL", multiple=True, help="Flat file location."
        ),
        click.option("--no-index", is_flag=True, help="Use only --find-links locations."),
        click.option(
            "--constraint",
            "-c",
            "constraints",
            metavar="FILE",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Constraints file (repeatable).",
        ),
        click.option(
            "--override",
            "overrides",
            metavar="FILE",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Replace every requirement on a project with the file's entries.",
        ),
        click.option("--extra", "extras", multiple=True, help="pyproject optional-dependencies."),
        click.option("--group", "groups", multiple=True, help="PEP 735 dependency group."),
        click.option("--python", "python", metavar="X.Y[.Z]", help="Target Python version."),
        click.option(
            "--platform",
            metavar="TAG",
            help="Target platform tag: manylinux_2_28_x86_64, musllinux_1_2_x86_64, "
            "macosx_14_0_arm64, win_amd64, or linux_x86_64 (the host's glibc level).",
        ),
        click.option(
            "--implementation", type=click.Choice(["cp", "pp"]), help="Target implementation."
        ),
        click.option(
            "--env",
            "envs",
            multiple=True,
            metavar="NAME",
            help="A named environment from [tool.advisor.environments] (repeatable).",
        ),
        click.option(
            "--index-strategy",
            type=click.Choice(["first-index", "unsafe-best-match"]),
            help="first-index (default): a project comes from the first index that has it.",
        ),
        click.option(
            "--pre",
            "pre",
            multiple=True,
            is_flag=False,
            flag_value=":all:",
            metavar="[PACKAGE]",
            help="Allow pre-releases (for all, or for PACKAGE; repeatable).",
        ),
        click.option(
            "--exclude-newer",
            metavar="TIMESTAMP",
            help="Ignore files uploaded after this date or RFC 3339 timestamp.",
        ),
        click.option("--offline", is_flag=True, help="Use only the cache; never the network."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        click.option("--refresh", is_flag=True, help="Revalidate every cached index page."),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path),
            envvar="ADVISOR_CACHE_DIR",
            help="Cache directory (also ADVISOR_CACHE_DIR).",
        ),
        click.option(
            "--only-binary",
            multiple=True,
            metavar="NAME|:all:",
            help="Never use an sdist for NAME.",
        ),
        click.option("--no-build", is_flag=True, help="Never use a source distribution."),
        click.option(
            "--recommendation",
            type=click.Choice(["latest"]),
            default="latest",
            show_default=True,
            help="Recommendation type (latest: exactly what pip picks).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        click.option("-v", "--verbose", count=True, help="More output (-vv: resolver trace)."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _resolve_opts(kw: dict[str, Any]) -> Any:
    from advisor.api import ResolveOptions

    pre = tuple(kw.pop("pre") or ())
    stamp = kw.pop("exclude_newer")
    return ResolveOptions(
        index_url=kw.pop("index_url"),
        extra_index_urls=tuple(kw.pop("extra_index_url")),
        find_links=tuple(kw.pop("find_links")),
        no_index=kw.pop("no_index"),
        constraints=tuple(kw.pop("constraints")),
        overrides=tuple(kw.pop("overrides")),
        extras=tuple(kw.pop("extras")),
        groups=tuple(kw.pop("groups")),
        python=kw.pop("python"),
        platform=kw.pop("platform"),
        implementation=kw.pop("implementation"),
        envs=tuple(kw.pop("envs")),
        index_strategy=kw.pop("index_strategy"),
        pre=":all:" in pre,
        pre_packages=tuple(p for p in pre if p != ":all:"),
        exclude_newer=_parse_timestamp(stamp) if stamp else None,
        offline=kw.pop("offline"),
        no_cache=kw.pop("no_cache"),
        refresh=kw.pop("refresh"),
        cache_dir=kw.pop("cache_dir"),
        only_binary=tuple(kw.pop("only_binary")),
        no_build=kw.pop("no_build"),
        recommendation=kw.pop("recommendation"),
        upgrade=kw.pop("upgrade", False),
        upgrade_packages=tuple(kw.pop("upgrade_package", ())),
    )


def _command_line() -> str:
    """The command as the user typed it, for lock headers; credentials removed."""
    from advisor.index.fetch import redact_url

    ctx = click.get_current_context()
    obj = ctx.find_root().obj
    argv = obj.get("argv", []) if isinstance(obj, dict) else []
    words = [redact_url(a) if "://" in a else a for a in argv]
    return " ".join(["advisor", *words])


def _logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stack-advisor", prog_name="advisor")
def cli() -> None:
    """Stack Advisor: the best stack that fits your target environment, and why."""


@cli.group()
def env() -> None:
    """Runtime environments."""


@env.command("detect")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
@click.option("--python", metavar="X.Y[.Z]", help="Describe this target instead of the host.")
@click.option("--platform", metavar="TAG", help="Describe this target platform.")
@click.option("--implementation", type=click.Choice(["cp", "pp"]))
def env_detect(
    as_json: bool, python: str | None, platform: str | None, implementation: str | None
) -> None:
    """Print this machine's runtime environment (or a target's, with --python/--platform)."""
    from advisor.environment import RuntimeEnvironment, render_toml

    host = RuntimeEnvironment.detect()
    target = host
    if python or platform or implementation:
        target = RuntimeEnvironment.for_target(
            host=host, python=python, platform=platform, implementation=implementation
        )
    if as_json:
        data = target.to_dict()
        data["markers"] = target.markers()
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(render_toml(target), nl=False)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@resolve_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the lock ('-' for stdout). Default: next to the first input.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pylock", "requirements"]),
    default=None,
    help="pylock (PEP 751, default) or requirements (pinned, with --hash lines).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--upgrade", "-U", is_flag=True, help="Ignore the pins of the existing lock.")
@click.option(
    "--upgrade-package",
    "-P",
    multiple=True,
    metavar="NAME",
    help="Let NAME move; keep every other pin of the existing lock (repeatable).",
)
def lock(inputs: tuple[Path, ...], **kw: Any) -> None:
    """Resolve INPUTS (requirements files or pyproject.toml) and write a lockfile."""
    from advisor.api import LockOptions
    from advisor.api import lock as run_lock

    as_json = kw.pop("as_json")
    verbose, quiet = kw.pop("verbose"), kw.pop("quiet")
    _logging(verbose, quiet)
    output: Path | None = kw.pop("output")
    fmt = kw.pop("fmt")
    dry_run = kw.pop("dry_run")
    if fmt is None:
        fmt = "requirements" if output and output.suffix in {".txt", ".in"} else "pylock"
    opts = _resolve_opts(kw)
    if not inputs:
        raise click.UsageError("name at least one requirements file or pyproject.toml")
    command = _command_line()
    outcome = run_lock(
        list(inputs),
        opts=opts,
        out=LockOptions(output=output, format=fmt, dry_run=dry_run, command=command),
    )
    to_stdout = dry_run or (output is not None and str(output) == "-")
    if as_json:
        payload = {
            "path": str(outcome.path) if outcome.path else None,
            "digest": outcome.digest,
            "targets": [t.name for t in outcome.targets],
            "packages": [
                {
                    "name": p.name,
                    "version": str(p.version),
                    "marker": p.marker,
                    "needs-build": p.needs_build,
                }
                for p in outcome.resolution.pins
            ],
            "changed": [{"name": n, "old": o, "new": v} for n, o, v in outcome.changed],
            "warnings": list(outcome.warnings),
        }
        if to_stdout:
            payload["lock"] = outcome.text
        click.echo(json.dumps(payload, indent=2))
        return
    if to_stdout:
        click.echo(outcome.text, nl=False)
    if quiet:
        return
    from rich.markup import escape

    console = _stderr()
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
@click.option("--extra", "extras", multiple=True)
@click.option("--group", "groups", multiple=True)
@click.option("--pip-arg", "pip_args", multiple=True, help="Extra argument for pip install.")
def install(
    lockfile: Path,
    python: str | None,
    extras: tuple[str, ...],
    groups: tuple[str, ...],
    pip_args: tuple[str, ...],
) -> None:
    """Install LOCKFILE (pylock.toml) with pip (--require-hashes --no-deps)."""
    from advisor.install import install_lock

    result = install_lock(
        lockfile,
        python=python or sys.executable,
        extras=extras,
        groups=groups,
        environ=dict(os.environ),
        pip_args=pip_args,
    )
    console = _stderr()
    for f in result.installed:
        console.print(f"  {f.name} {f.version or ''} ({f.filename})")
    console.print(f"Installed {len(result.installed)} packages from {lockfile}")


def _locks_for(paths: tuple[Path, ...]) -> list[Path]:
    """The locks to check: locks named directly, and the lock beside each named input."""
    if not paths:
        found = [p for p in (Path("pylock.toml"), Path("requirements.txt")) if p.is_file()]
        if not found:
            raise click.UsageError("no lock given, and no pylock.toml or requirements.txt here")
        return found[:1]
    locks: list[Path] = []
    for path in paths:
        name = path.name
        if name.startswith("pylock") and name.endswith(".toml"):
            lock_path = path
        elif name.endswith(".txt") and "requirements" in name:
            lock_path = path
        else:  # an input (requirements.in, pyproject.toml, constraints): its folder's lock
            beside = path.parent / "pylock.toml"
            if not beside.is_file():
                continue
            lock_path = beside
        if lock_path not in locks:
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
@click.option(
    "--knowledge",
    metavar="URL",
    envvar="ADVISOR_KNOWLEDGE",
    help="Knowledge store (sqlite:///path.db or postgresql://...).",
)
@click.option("--online", is_flag=True, help="Also ask the index whether a pin was yanked.")
@click.option("--fix", is_flag=True, help="Re-lock a lock that is merely stale.")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["freshness", "hashes", "indexes", "advisories", "environments"]),
    help="Run only these checks (repeatable).",
)
@click.option(
    "--inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For a requirements.txt lock: the file(s) it was made from (default: NAME.in).",
)
def check(
    paths: tuple[Path, ...],
    fmt: str,
    osv: Path | None,
    knowledge: str | None,
    online: bool,
    fix: bool,
    only: tuple[str, ...],
    inputs: tuple[Path, ...],
) -> None:
    """Check locks (and the inputs that feed them): fresh, hashed, allowed indexes, no
    known advisory, covered environments. Exit 0 clean, 1 findings, 2 usage error."""
    from advisor.api.checking import CheckOptions, run_check
    from advisor.check import render_findings

    locks = _locks_for(paths)
    if not locks:
        return  # only inputs without a lock beside them were named
    report = run_check(
        locks,
        opts=CheckOptions(
            knowledge=knowledge,
            osv=osv,
            online=online,
            fix=fix,
            inputs=inputs,
            only=frozenset(only),
        ),
    )
    for shown in report.fixed:
        click.echo(f"re-locked {shown}: stage the new lock", err=True)
    if report.findings:
        click.echo(render_findings(report.findings, fmt=fmt))
    elif fmt == "json":
        click.echo("[]")
    if fmt == "text" and not report.findings:
        click.echo(f"ok: {', '.join(report.checked)}", err=True)
    if report.findings or report.fixed:
        click.get_current_context().exit(1)


@cli.group()
def cache() -> None:
    """The on-disk cache of index pages, metadata and files."""


def _cache_dir(cache_dir: Path | None) -> Path:
    from advisor.api import default_cache_dir

    return cache_dir or default_cache_dir(os.environ)


_cache_dir_option = click.option(
    "--cache-dir", type=click.Path(path_type=Path), envvar="ADVISOR_CACHE_DIR"
)


@cache.command("dir")
@_cache_dir_option
def cache_dir_cmd(cache_dir: Path | None) -> None:
    """Print the cache directory."""
    click.echo(str(_cache_dir(cache_dir)))


@cache.command("info")
@_cache_dir_option
@click.option("--json", "as_json", is_flag=True)
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """Print the cache's size and entries per kind."""
    from advisor.index.cache import Cache

    info = Cache(_cache_dir(cache_dir)).info()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dir": str(info.root),
                    "entries": info.entries,
                    "size": info.size,
                    "buckets": {b: {"entries": n, "size": s} for b, n, s in info.buckets},
                },
                indent=2,
            )
        )
        return
    click.echo(f"dir: {info.root}")
    click.echo(f"entries: {info.entries}")
    click.echo(f"size: {_human(info.size)}")
    for bucket, n, size in info.buckets:
        click.echo(f"  {bucket}: {n} entries, {_human(size)}")


@cache.command("clean")
@_cache_dir_option
def cache_clean(cache_dir: Path | None) -> None:
    """Remove every cache entry."""
    from advisor.index.cache import Cache

    freed = Cache(_cache_dir(cache_dir)).clean()
    click.echo(f"removed {_human(freed)} from {_cache_dir(cache_dir)}")


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into messages and exit codes."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        code = cli.main(
            args=args, prog_name="advisor", standalone_mode=False, obj={"argv": args}
        )
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code not in (0, 1) else exc.exit_code or 2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except AdvisorError as exc:
        from rich.text import Text

        _stderr().print(Text("error: ", style="red") + Text(str(exc)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, without a traceback
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in Stack Advisor; set ADVISOR_DEBUG=1 to see the traceback.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


# --- knowledge ----------------------------------------------------------------------------

_knowledge_option = click.option(
    "--knowledge",
    "knowledge_url",
    metavar="URL",
    envvar="ADVISOR_KNOWLEDGE",
    help="Knowledge store: sqlite:///path.db, a file path or postgresql://user@host/db "
    "(also ADVISOR_KNOWLEDGE; default: knowledge.db in the user data directory).",
)
_MAX_SHOWN_PROBLEMS = 20


def _store_url(url: str | None) -> str:
    from advisor.api.knowledge import store_url

    return store_url(url, os.environ)


def _shown_url(url: str) -> str:
    from advisor.knowledge.store import redact_url

    return redact_url(url)


def _problem_dict(problem: Any) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
    }


def _warn_problems(problems: Any, *, verbose: bool) -> None:
    """Problems as warnings on stderr; at most 20 unless ``verbose``."""
    from rich.markup import escape

    console = _stderr()
    shown = problems if verbose else problems[:_MAX_SHOWN_PROBLEMS]
    for problem in shown:
        console.print(f"[yellow]warning:[/] {escape(str(problem))}")
    if len(problems) > len(shown):
        console.print(f"  … and {len(problems) - len(shown)} more (-v shows all)")


@cli.group("knowledge")
def knowledge_group() -> None:
    """The knowledge store: curated rules, advisories and observations."""


@knowledge_group.command("validate")
@click.argument("path", required=False, default="knowledge", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def knowledge_validate(path: Path, as_json: bool) -> None:
    """Check knowledge files; list every problem.

    PATH is a knowledge folder (default ./knowledge) or one file. Every problem is printed
    as FILE:LINE: FIELD: MESSAGE. Exit 0 when clean, 1 when there are problems."""
    from advisor.api.knowledge import validate

    problems = validate(path)
    if as_json:
        click.echo(json.dumps([_problem_dict(p) for p in problems], indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        noun = "problem" if len(problems) == 1 else "problems"
        click.echo(f"{path}: {len(problems) or 'no'} {noun}", err=True)
    if problems:
        # not click's Exit: main() runs click with standalone_mode=False, which returns
        # Exit's code instead of exiting with it
        sys.exit(1)


@knowledge_group.command("sync")
@click.argument("path", required=False, default="knowledge", type=click.Path(path_type=Path))
@_knowledge_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every problem.")
def knowledge_sync(path: Path, knowledge_url: str | None, as_json: bool, verbose: bool) -> None:
    """Load a knowledge folder into the store.

    PATH defaults to ./knowledge. A no-op when the folder has not changed since the last
    clean sync; otherwise changed files replace their facts and removed files' facts go."""
    from advisor.api.knowledge import sync

    url = _store_url(knowledge_url)
    report = sync(path, store_url=url)
    if as_json:
        payload = {
            "folder": report.folder,
            "store": _shown_url(url),
            "digest": report.digest,
            "skipped": report.skipped,
            "files": report.files,
            "changed": list(report.changed),
            "removed": list(report.removed),
            "added": report.added,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            "problems": [_problem_dict(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.text import Text

    console = _stderr()
    if report.skipped:
        console.print(Text(f"{path}: unchanged since the last sync (nothing to do)"))
        return
    _warn_problems(report.problems, verbose=verbose)
    console.print(
        Text(
            f"Synced {path} into {_shown_url(url)}: {report.files} files, "
            f"{len(report.changed)} written, {len(report.removed)} removed; "
            f"{report.added} added, {report.replaced} replaced, {report.deleted} deleted"
            + (f"; {len(report.problems)} problems" if report.problems else "")
        )
    )


def _package_specs(specs: tuple[str, ...]) -> dict[str, str | None]:
    from advisor.api.knowledge import parse_package_spec

    found: dict[str, str | None] = {}
    for spec in specs:
        name, version = parse_package_spec(spec)
        found[name] = None if name in found and found[name] != version else version
    return found


@knowledge_group.command("import-osv")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--api", "api_url", metavar="URL", help="An OSV-compatible API to query.")
@click.option(
    "--package",
    "packages",
    multiple=True,
    metavar="NAME[==VERSION]",
    help="With --api: a package to ask about (repeatable).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --api: ask about every package of this pylock.toml.",
)
@_knowledge_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every problem.")
def knowledge_import_osv(
    source: Path | None,
    api_url: str | None,
    packages: tuple[str, ...],
    lock_path: Path | None,
    knowledge_url: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Import OSV advisories (dump, folder, API).

    SOURCE is an OSV dump zip or a folder of OSV JSON/YAML files; or query an
    OSV-compatible API (--api URL) about some packages (--package, --lock)."""
    from advisor.api.knowledge import import_osv, lock_packages

    if (source is None) == (api_url is None):
        raise click.UsageError("give either SOURCE (a zip or folder) or --api URL")
    if source is not None and (packages or lock_path):
        raise click.UsageError("--package and --lock go with --api")
    url = _store_url(knowledge_url)
    if api_url is not None:
        wanted = lock_packages(lock_path) if lock_path else {}
        for name, version in _package_specs(packages).items():
            wanted[name] = None if name in wanted and wanted[name] != version else version
        if not wanted:
            raise click.UsageError("--api needs --package NAME[==VERSION] or --lock FILE")
        outcome = import_osv(api_url, store_url=url, packages=wanted)
    else:
        assert source is not None
        outcome = import_osv(source, store_url=url)
    report = outcome.report
    if as_json:
        payload = {
            "source": outcome.source,
            "store": _shown_url(url),
            "records": report.records,
            "advisories": len(report.advisories),
            "withdrawn": report.withdrawn,
            "skipped-git-ranges": report.skipped_git,
            "other-ecosystems": report.foreign,
            "added": outcome.added,
            "replaced": outcome.replaced,
            "unchanged": outcome.unchanged,
            "removed": outcome.removed,
            "problems": [_problem_dict(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    _warn_problems(report.problems, verbose=verbose)
    notes = [
        f"{len(report.problems)} problems" if report.problems else "",
        f"{report.withdrawn} withdrawn" if report.withdrawn else "",
        f"{report.skipped_git} GIT ranges skipped" if report.skipped_git else "",
    ]
    note = "; ".join(n for n in notes if n)
    from rich.text import Text

    _stderr().print(
        Text(
            f"Imported {len(report.advisories)} advisories from {outcome.source} "
            f"({report.records} records{'; ' + note if note else ''}) into {_shown_url(url)}: "
            f"{outcome.added} added, {outcome.replaced} replaced, {outcome.unchanged} unchanged, "
            f"{outcome.removed} removed"
        )
    )


@knowledge_group.command("show")
@click.argument("spec", metavar="NAME[==VERSION]")
@_knowledge_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def knowledge_show(spec: str, knowledge_url: str | None, as_json: bool) -> None:
    """What is known about a package, per kind.

    With ==VERSION, what applies to that version is marked."""
    from advisor.api.knowledge import parse_package_spec, show

    name, version = parse_package_spec(spec)
    known = show(name, version, store_url=_store_url(knowledge_url))
    if as_json:
        click.echo(json.dumps(known.to_dict(), indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    title = f"{name} {version}" if version else name
    if not known.facts:
        console.print(Text(f"Nothing known about {title}."))
        return
    parts = []
    for kind in dict.fromkeys(f.kind for f in known.facts):
        facts = known.of_kind(kind)
        one, many = _KIND_WORDS.get(kind, (kind, kind))
        part = f"{len(facts)} {one if len(facts) == 1 else many}"
        if version is not None:
            hits = sum(1 for f in facts if f.applies)
            if kind == "advisory":
                verb = "affects" if hits == 1 else "affect"
            else:
                verb = ("applies" if hits == 1 else "apply") + " to"
            part += f" ({hits} {verb} {version})"
        parts.append(part)
    console.print(Text(f"{title}: {', '.join(parts)}"))
    for kind in dict.fromkeys(f.kind for f in known.facts):
        console.print(_facts_table(kind, known.of_kind(kind), name=name, version=version))


_KIND_WORDS = {
    "advisory": ("advisory", "advisories"),
    "prescription": ("rule", "rules"),
    "build": ("build observation", "build observations"),
    "performance": ("measurement", "measurements"),
    "image": ("image recipe", "image recipes"),
}
_SUMMARY_WIDTH = 120
_FACT_COLUMNS = {
    "advisory": ("id", "severity", "fixed in", "summary"),
    "prescription": ("rule", "action", "specifier", "summary"),
    "build": ("version", "environment", "outcome", "detail"),
    "performance": ("version", "probe", "value", "environment"),
    "image": ("image", "base", "python", "platform"),
}


def _facts_table(kind: str, facts: Any, *, name: str, version: str | None) -> Any:
    from rich.table import Table

    columns = _FACT_COLUMNS.get(kind, ("key", "", "", ""))
    table = Table(title=kind, title_justify="left", show_edge=False, pad_edge=False)
    if version is not None:
        table.add_column("affects" if kind == "advisory" else "applies")
    for column in columns:
        table.add_column(column, overflow="fold")
    for fact in facts:
        mark = {True: "yes", False: "no", None: "-"}[fact.applies]
        row = _fact_cells(fact.observation, name=name)
        table.add_row(*([mark] if version is not None else []), *row)
    return table


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_WIDTH else line[: _SUMMARY_WIDTH - 1] + "…"


def _predicate_text(env: Any) -> str:
    import msgspec

    parts = []
    for key, value in msgspec.to_builtins(env).items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{key}{'' if text[:1] in '<>=!~' else '='}{text}")
    return " ".join(parts) or "any"


def _fact_cells(obs: Any, *, name: str) -> tuple[str, ...]:
    from advisor.knowledge import schema
    from advisor.knowledge.osv import fixed_versions

    if isinstance(obs, schema.Advisory):
        ident = obs.id + (f" ({', '.join(obs.aliases)})" if obs.aliases else "")
        if obs.withdrawn:
            ident += " [withdrawn]"
        severity = ", ".join(s.score for s in obs.severity)
        return (ident, severity, ", ".join(fixed_versions(obs, name)), _short(obs.summary))
    if isinstance(obs, schema.Prescription):
        action = obs.action.kind + (f" {obs.action.score:+g}" if obs.action.score else "")
        spec = f"{obs.match.package}{obs.match.specifier}"
        for co in obs.match.co_installed:
            if co.package == name:
                spec += f" (with {co.package}{co.specifier})"
        return (obs.id, action, spec, _short(obs.summary))
    if isinstance(obs, schema.BuildObservation):
        detail = obs.failure_class or ""
        return (obs.version or obs.specifier or "any", _predicate_text(obs.environment),
                obs.outcome, detail)  # fmt: skip
    if isinstance(obs, schema.PerformanceObservation):
        value = f"{obs.metric} {obs.value:g} {obs.unit}"
        env = f"{obs.environment.python} {obs.environment.platform}"
        return (obs.version or "any", obs.probe, value, env)
    if isinstance(obs, schema.ImageRecipe):
        return (obs.name, obs.base_image, obs.python, obs.platform)
    return (type(obs).__name__, "", "", "")


@knowledge_group.command("stats")
@_knowledge_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def knowledge_stats(knowledge_url: str | None, as_json: bool) -> None:
    """Counts per kind and per source."""
    from advisor.api.knowledge import stats

    found = stats(_store_url(knowledge_url))
    if as_json:
        payload = {
            "store": found.url,
            "schema-version": found.schema_version,
            "total": found.total,
            "kinds": {k.kind: {"count": k.count, "newest": k.newest} for k in found.kinds},
            "sources": {s.source: s.count for s in found.sources},
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"{found.url} (schema {found.schema_version}): {found.total} observations"))
    kinds = Table(show_edge=False, pad_edge=False)
    for column in ("kind", "count", "newest"):
        kinds.add_column(column, justify="right" if column == "count" else "left")
    for k in found.kinds:
        kinds.add_row(k.kind, str(k.count), k.newest or "")
    console.print(kinds)
    if found.sources:
        sources = Table(show_edge=False, pad_edge=False)
        sources.add_column("source", overflow="fold")
        sources.add_column("count", justify="right")
        for s in found.sources:
            sources.add_row(s.source, str(s.count))
        console.print(sources)


@knowledge_group.command("graph")
@click.argument("lock", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "graphml", "json"]),
    default="dot",
    show_default=True,
    help="Graphviz DOT, GraphML or node-link JSON.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write here ('-': stdout, default)."
)
@_knowledge_option
def knowledge_graph(lock: Path, fmt: str, output: Path | None, knowledge_url: str | None) -> None:
    """Export a lock's stack as a graph.

    LOCK is a pylock.toml; what the store knows about each locked version is attached."""
    from advisor.api.knowledge import export_lock_graph

    text = export_lock_graph(lock, store_url=_store_url(knowledge_url), fmt=fmt)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    from rich.text import Text

    from advisor.lockfile import write_atomic

    write_atomic(output, text)
    _stderr().print(Text(f"Wrote the graph of {lock} to {output}"))


if __name__ == "__main__":
    main()
