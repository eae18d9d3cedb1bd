"""Helpers shared by the command modules: options, logging, output."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from rich.console import Console

    from advisor.api import ResolveOptions

__all__ = [
    "Command",
    "advisory_source_options",
    "command_line",
    "from_command_line",
    "human_size",
    "knowledge_store_option",
    "lock_inputs_option",
    "lock_output_options",
    "pop_value",
    "pop_values",
    "resolve_options",
    "resolve_opts",
    "setup_logging",
    "stderr",
]


#: a command's function, before click makes it a command (its options come as keywords)
Command = TypeVar("Command", bound=Callable[..., object])
_T = TypeVar("_T")


def pop_value(kw: MutableMapping[str, object], key: str, kind: type[_T]) -> _T | None:
    """The value click parsed for option ``key`` (removed from ``kw``), checked to be a
    ``kind``; ``None`` when unset."""
    value = kw.pop(key, None)
    if value is None or isinstance(value, kind):
        return value
    raise TypeError(f"option {key!r} is a {type(value).__name__}, not a {kind.__name__}")


def pop_values(kw: MutableMapping[str, object], key: str, kind: type[_T]) -> tuple[_T, ...]:
    """The values click parsed for the repeatable option ``key`` (removed from ``kw``), each
    checked to be a ``kind``; ``()`` when unset."""
    values = kw.pop(key, None) or ()
    if not isinstance(values, tuple | list):
        raise TypeError(f"option {key!r} is a {type(values).__name__}, not a sequence")
    bad = [v for v in values if not isinstance(v, kind)]
    if bad:
        raise TypeError(f"option {key!r} holds a {type(bad[0]).__name__}, not a {kind.__name__}")
    return tuple(v for v in values if isinstance(v, kind))


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


#: a relative --exclude-newer, as uv spells it: "7 days", "2 weeks", "36 hours"
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(hours?|h|days?|d|weeks?|w)", re.IGNORECASE)
_SPAN_DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0}


def _relative_days(value: str) -> float | None:
    """The days of a relative ``--exclude-newer`` ("7 days", "2 weeks", "12h"), or
    ``None`` when ``value`` is not one."""
    match = _SPAN.fullmatch(value.strip())
    if match is None:
        return None
    return float(match[1]) * _SPAN_DAYS[match[2][0].lower()]


def _cooldown_days(cooldown: float | None, stamp: str | None) -> float | None:
    """``--cooldown``, or the days of a relative ``--exclude-newer`` (the same filter, with
    the same exemptions); both at once must agree."""
    relative = _relative_days(stamp) if stamp else None
    if relative is not None and cooldown is not None and relative != cooldown:
        raise click.BadParameter(
            f"--exclude-newer {stamp!r} is a cooldown of {relative:g} days, and --cooldown says"
            f" {cooldown:g}: give one",
            param_hint="'--exclude-newer'",
        )
    return cooldown if cooldown is not None else relative


def _parse_timestamp(value: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            stamp = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2024-05-01), an RFC 3339 timestamp (2024-05-01T00:00:00Z)"
            " or a span (7 days, 2 weeks, 12 hours)"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def lock_output_options(func: Command) -> Command:
    """``-o/--output`` and ``--format``: where a command writes its lock, and in which format."""
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["pylock", "requirements"]),
        default=None,
        help="pylock (PEP 751, default) or requirements (pinned, with --hash lines).",
    )(func)
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        help="Where to write the lock ('-' for stdout). Default: next to the first input.",
    )(func)


#: :func:`resolve_options`: where packages come from
_SOURCE_OPTIONS = [
    click.option("--index-url", "-i", metavar="URL", help="Primary index (PEP 503/691)."),
    click.option(
        "--extra-index-url", metavar="URL", multiple=True, help="Further index (repeatable)."
    ),
    click.option(
        "--find-links", "-f", metavar="DIR|URL", multiple=True, help="Flat file location."
    ),
    click.option("--no-index", is_flag=True, help="Use only --find-links locations."),
]


#: :func:`resolve_options`: what the inputs get besides: constraints, overrides, extras, groups
_INPUT_OPTIONS = [
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
]


#: :func:`resolve_options`: the target environment(s)
_TARGET_OPTIONS = [
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
        "--cuda",
        metavar="X.Y",
        help="Target CUDA version: of a release's +cuXYZ builds, the one for it (or the"
        " newest older one) is used.",
    ),
    click.option(
        "--env",
        "envs",
        multiple=True,
        metavar="NAME",
        help="A named environment from [tool.advisor.environments] (repeatable).",
    ),
]


#: :func:`resolve_options`: which releases may be chosen
_RELEASE_OPTIONS = [
    click.option(
        "--index-strategy",
        type=click.Choice(["first-index", "unsafe-best-match"]),
        help="first-index (default): a project comes from the first index that has it.",
    ),
    # a flag and a per-package option, as pip and uv spell them: an option with an
    # optional value would swallow the input file that follows it (`--pre req.in`)
    click.option("--pre", is_flag=True, help="Allow pre-releases of every project."),
    click.option(
        "--prerelease-package",
        "prerelease_packages",
        multiple=True,
        metavar="NAME",
        help="Allow pre-releases of NAME (repeatable).",
    ),
    click.option(
        "--exclude-newer",
        metavar="TIMESTAMP",
        help="Ignore files uploaded after this date or RFC 3339 timestamp; a span ('7 days',"
        " '2 weeks') is a --cooldown.",
    ),
    click.option(
        "--cooldown",
        type=click.FloatRange(min=0),
        metavar="DAYS",
        help="Leave out releases younger than DAYS, except a release that fixes an advisory"
        " affecting every older one, and the policy's cooldown-exemptions.",
    ),
]


#: :func:`resolve_options`: the network and the cache
_CACHE_OPTIONS = [
    click.option("--offline", is_flag=True, help="Use only the cache; never the network."),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
    click.option(
        "--refresh",
        is_flag=True,
        help="Revalidate every cached index page; build again the sdists whose build "
        "failed in an earlier run.",
    ),
    click.option(
        "--cache-dir",
        type=click.Path(path_type=Path),
        envvar="ADVISOR_CACHE_DIR",
        help="Cache directory (also ADVISOR_CACHE_DIR).",
    ),
]


#: :func:`resolve_options`: source distributions
_BUILD_OPTIONS = [
    click.option(
        "--only-binary",
        multiple=True,
        metavar="NAME|:all:",
        help="Never use an sdist for NAME.",
    ),
    click.option("--no-build", is_flag=True, help="Never use a source distribution."),
    click.option(
        "--build-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=300.0,
        show_default=True,
        metavar="SECONDS",
        help="Time allowed to each sdist metadata build (its whole process group is stopped then).",
    ),
]


#: :func:`resolve_options`: the recommendation type and what is printed
_RUN_OPTIONS = [
    click.option(
        "--recommendation",
        type=click.Choice(["latest", "stable", "performance", "security", "testing"]),
        default=None,
        help="Recommendation type. lock: latest (exactly what pip picks) unless given; "
        "advise: [tool.advisor] recommendation, else stable.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    click.option("-v", "--verbose", count=True, help="More output (-vv: resolver trace)."),
    click.option("-q", "--quiet", is_flag=True, help="Only errors."),
]


def resolve_options(func: Command) -> Command:
    """The options every resolving command takes, group by group."""
    groups = (_SOURCE_OPTIONS, _INPUT_OPTIONS, _TARGET_OPTIONS, _RELEASE_OPTIONS, _CACHE_OPTIONS,
              _BUILD_OPTIONS, _RUN_OPTIONS)  # fmt: skip
    for option in reversed([option for group in groups for option in group]):
        func = option(func)
    return func


def resolve_opts(kw: MutableMapping[str, object]) -> ResolveOptions:
    """The :class:`~advisor.api.ResolveOptions` of the options :func:`resolve_options` added
    (popped from ``kw``); ``--upgrade`` and ``--upgrade-package`` when the command has them."""
    from advisor.api import IndexStrategy, RecommendationType, ResolveOptions

    stamp = pop_value(kw, "exclude_newer", str)
    cooldown = _cooldown_days(pop_value(kw, "cooldown", float), stamp)
    if stamp is not None and _relative_days(stamp) is not None:
        stamp = None  # a span: the cooldown, not a date
    strategy = pop_value(kw, "index_strategy", str)
    build_timeout = pop_value(kw, "build_timeout", float)
    return ResolveOptions(
        index_url=pop_value(kw, "index_url", str),
        extra_index_urls=pop_values(kw, "extra_index_url", str),
        find_links=pop_values(kw, "find_links", str),
        no_index=bool(pop_value(kw, "no_index", bool)),
        constraints=pop_values(kw, "constraints", Path),
        overrides=pop_values(kw, "overrides", Path),
        extras=pop_values(kw, "extras", str),
        groups=pop_values(kw, "groups", str),
        python=pop_value(kw, "python", str),
        platform=pop_value(kw, "platform", str),
        implementation=pop_value(kw, "implementation", str),
        cuda=pop_value(kw, "cuda", str),
        envs=pop_values(kw, "envs", str),
        index_strategy=IndexStrategy(strategy) if strategy else None,
        pre=bool(pop_value(kw, "pre", bool)),
        pre_packages=pop_values(kw, "prerelease_packages", str),
        exclude_newer=_parse_timestamp(stamp) if stamp else None,
        cooldown_days=cooldown,
        offline=bool(pop_value(kw, "offline", bool)),
        no_cache=bool(pop_value(kw, "no_cache", bool)),
        refresh=bool(pop_value(kw, "refresh", bool)),
        cache_dir=pop_value(kw, "cache_dir", Path),
        only_binary=pop_values(kw, "only_binary", str),
        no_build=bool(pop_value(kw, "no_build", bool)),
        build_timeout=300.0 if build_timeout is None else build_timeout,
        recommendation=RecommendationType(pop_value(kw, "recommendation", str) or "latest"),
        upgrade=bool(pop_value(kw, "upgrade", bool)),
        upgrade_packages=pop_values(kw, "upgrade_package", str),
    )


def command_line() -> str:
    """The command as the user typed it, for lock headers; credentials removed."""
    from advisor.urls import redact_url

    ctx = click.get_current_context()
    obj = ctx.find_root().obj
    argv = obj.get("argv", []) if isinstance(obj, dict) else []
    words = [redact_url(a) if "://" in a else a for a in argv]
    return " ".join(["advisor", *words])


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is when a record is logged: the progress display
    swaps it for a proxy that prints above its region (a handler keeping the original stream
    would write through the display)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s",
        stream=_CurrentStderr(),
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


#: ``--knowledge URL``: the knowledge store a command reads or writes (``knowledge_url``).
knowledge_store_option = click.option(
    "--knowledge",
    "knowledge_url",
    metavar="URL",
    envvar="ADVISOR_KNOWLEDGE",
    help="Knowledge store: sqlite:///path.db, a file path or postgresql://user@host/db "
    "(also ADVISOR_KNOWLEDGE; default: knowledge.db in the user data directory).",
)


def advisory_source_options(func: Command) -> Command:
    """``--osv PATH`` (``osv``) and ``--knowledge URL`` (``knowledge_url``): where the
    advisories a lock is judged by come from (``check``, ``fix``)."""
    func = knowledge_store_option(func)
    return click.option(
        "--osv", type=click.Path(path_type=Path, exists=True), help="An OSV dump to use."
    )(func)


#: ``--inputs``: what a requirements.txt lock was made from (``inputs``; ``check``, ``fix``)
lock_inputs_option = click.option(
    "--inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For a requirements.txt lock: the file(s) it was made from (default: NAME.in).",
)


def from_command_line(name: str) -> bool:
    """Whether the current command's option ``name`` was typed on the command line (not
    taken from the environment or a default). With ``--server``, ``--knowledge`` and
    ``--cache-dir`` count only when typed: ``ADVISOR_KNOWLEDGE`` and ``ADVISOR_CACHE_DIR``
    set up this machine, not the request, and the server uses its own."""
    from click.core import ParameterSource

    return click.get_current_context().get_parameter_source(name) is ParameterSource.COMMANDLINE


server_option = click.option(
    "--server",
    "server",
    metavar="URL",
    envvar="ADVISOR_SERVER",
    help="Ask this team server (advisor serve) instead of working here (also ADVISOR_SERVER;"
    " token: ADVISOR_SERVER_TOKEN or https://token:SECRET@host/).",
)
