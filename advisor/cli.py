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
        cli.main(args=args, prog_name="advisor", standalone_mode=False, obj={"argv": args})
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


if __name__ == "__main__":
    main()
