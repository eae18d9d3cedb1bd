"""Resolve and lock: inputs → targets → index session → resolution → lockfile.

The CLI (and later the pre-commit hook, the image pipeline and the server) call only this
module. It is the one place that reads the process environment and the clock, and passes
them down as values.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.requirements import Requirement as PepRequirement
    from packaging.version import Version

    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.index.fetch import Fetcher
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher
    from advisor.models import Resolution
    from advisor.request import AdviceRequest

__all__ = [
    "IndexConfig",
    "LockOptions",
    "LockOutcome",
    "ResolveOptions",
    "build_targets",
    "default_cache_dir",
    "lock",
    "resolve_request",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexConfig:
    """Where packages come from. ``indexes`` keep credentials (used, never written)."""

    indexes: tuple[str, ...]
    find_links: tuple[str, ...] = ()
    strategy: str = "first-index"
    pinned: Mapping[str, str] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The configuration as written to a lock or digest: no credentials."""
        from advisor.index.fetch import redact_url

        return {
            "indexes": [redact_url(u) for u in self.indexes],
            "find-links": [redact_url(u) for u in self.find_links],
            "strategy": self.strategy,
            "pinned": {k: redact_url(v) for k, v in sorted(self.pinned.items())},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveOptions:
    """Options every resolving command takes (``lock``, later ``advise``)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    constraints: tuple[Path, ...] = ()
    overrides: tuple[Path, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    envs: tuple[str, ...] = ()
    index_strategy: str | None = None
    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    exclude_newer: datetime | None = None
    offline: bool = False
    no_cache: bool = False
    refresh: bool = False
    cache_dir: Path | None = None
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    recommendation: str = "latest"
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    preferences_from: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: str = "pylock"  # "pylock" | "requirements"
    dry_run: bool = False
    command: str = "advisor lock"


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOutcome:
    resolution: Resolution
    text: str
    path: Path | None
    targets: tuple[RuntimeEnvironment, ...]
    digest: str
    warnings: tuple[str, ...] = ()
    changed: tuple[tuple[str, str | None, str | None], ...] = ()  # (name, old, new)
    requests: int = 0


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``ADVISOR_CACHE_DIR`` or the platform's user cache directory."""
    env = environ.get("ADVISOR_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("stack-advisor"))


def _index_config(
    opts: ResolveOptions,
    request: AdviceRequest,
    config: AdvisorConfig,
    environ: Mapping[str, str],
    cwd: Path,
) -> tuple[IndexConfig, Any]:
    from advisor.index.settings import default_index_url, load_pip_settings

    pip = load_pip_settings(environ=environ, cwd=cwd)
    file_opts = request.index_options
    explicit = bool(opts.index_url or opts.extra_index_urls or opts.no_index)
    if explicit:
        primary = None if opts.no_index else opts.index_url
        extras = () if opts.no_index else opts.extra_index_urls
        if primary is None and not opts.no_index:
            primary = file_opts.index_url or config.index_url or pip.index_url
            primary = primary or default_index_url()
    elif file_opts.index_url or file_opts.extra_index_urls or file_opts.no_index:
        primary = None if file_opts.no_index else file_opts.index_url
        if primary is None and not file_opts.no_index:
            primary = config.index_url or pip.index_url or default_index_url()
        extras = () if file_opts.no_index else file_opts.extra_index_urls
    elif config.index_url or config.extra_index_urls:
        primary = config.index_url or pip.index_url or default_index_url()
        extras = config.extra_index_urls
    else:
        no_index = pip.no_index
        primary = None if no_index else (pip.index_url or default_index_url())
        extras = () if no_index else tuple(pip.extra_index_urls)
    indexes = tuple(dict.fromkeys(([primary] if primary else []) + list(extras)))
    find_links = tuple(
        dict.fromkeys(
            [*opts.find_links, *file_opts.find_links, *config.find_links, *pip.find_links]
        )
    )
    strategy = opts.index_strategy or config.index_strategy or "first-index"
    return (
        IndexConfig(
            indexes=indexes,
            find_links=find_links,
            strategy=strategy,
            pinned=dict(config.pinned_indexes),
        ),
        pip,
    )


def build_targets(
    opts: ResolveOptions, config: AdvisorConfig, host: RuntimeEnvironment
) -> tuple[RuntimeEnvironment, ...]:
    """The target environments: named ``--env`` entries, else one from --python/--platform."""
    from advisor.environment import RuntimeEnvironment

    if opts.envs:
        out = []
        for name in opts.envs:
            spec = config.environments.get(name)
            if spec is None:
                known = ", ".join(sorted(config.environments)) or "none are configured"
                where = config.source or "pyproject.toml [tool.advisor] or advisor.toml"
                raise InputError(f"unknown environment {name!r} (in {where}: {known})")
            out.append(
                RuntimeEnvironment.for_target(
                    host=host,
                    name=name,
                    python=opts.python or spec.python,
                    platform=opts.platform or spec.platform,
                    implementation=opts.implementation or spec.implementation,
                    cuda=spec.cuda,
                )
            )
        return tuple(out)
    return (
        RuntimeEnvironment.for_target(
            host=host,
            python=opts.python,
            platform=opts.platform,
            implementation=opts.implementation,
        ),
    )


@dataclass(slots=True)
class _Session:
    fetcher: Fetcher
    finder: PackageFinder
    metadata: MetadataFetcher

    def close(self) -> None:
        self.metadata.close()
        self.fetcher.close()


def _open_session(
    opts: ResolveOptions, index: IndexConfig, pip: Any, environ: Mapping[str, str]
) -> _Session:
    from advisor.index.cache import Cache
    from advisor.index.fetch import Fetcher, NetworkSettings
    from advisor.index.finder import IndexStrategy, PackageFinder
    from advisor.index.metadata import MetadataFetcher

    cache = None if opts.no_cache else Cache(opts.cache_dir or default_cache_dir(environ))
    credentials = list(pip.credentials) if getattr(pip, "credentials", None) else []
    settings = NetworkSettings(
        timeout=float(pip.timeout or 15.0),
        retries=int(pip.retries if pip.retries is not None else 5),
        cert=pip.cert,
        client_cert=pip.client_cert,
        trusted_hosts=tuple(pip.trusted_hosts),
        credentials=tuple(credentials),
    )
    fetcher = Fetcher(settings)
    finder = PackageFinder(
        fetcher=fetcher,
        indexes=index.indexes,
        find_links=index.find_links,
        strategy=IndexStrategy(index.strategy),
        cache=cache,
        offline=opts.offline,
        refresh=opts.refresh,
        pinned={canonicalize_name(k): v for k, v in index.pinned.items()},
    )
    metadata = MetadataFetcher(
        fetcher=fetcher,
        cache=cache,
        allow_build=not opts.no_build,
        build_python=sys.executable,
        build_env=_build_env(index, environ),
    )
    return _Session(fetcher=fetcher, finder=finder, metadata=metadata)


def _build_env(index: IndexConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of sdist builds: pip (installing build requirements) uses our indexes."""
    env = dict(environ)
    if index.indexes:
        env["PIP_INDEX_URL"] = index.indexes[0]
        env["PIP_EXTRA_INDEX_URL"] = " ".join(index.indexes[1:])
    else:
        env["PIP_NO_INDEX"] = "1"
    if index.find_links:
        env["PIP_FIND_LINKS"] = " ".join(index.find_links)
    return env


def _previous_pins(existing: Path | None) -> dict[NormalizedName, Version]:
    """The pins of the lock being replaced (``{}`` when there is none)."""
    if existing is None or not existing.is_file():
        return {}
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.requirements import read_requirements_lock

    if existing.name.endswith(".toml"):
        return dict(read_pylock(existing).pins)
    return dict(read_requirements_lock(existing))


def _preferences(
    opts: ResolveOptions, previous: Mapping[NormalizedName, Version]
) -> dict[NormalizedName, Version]:
    """Re-locking keeps the previous pins, except under --upgrade / --upgrade-package."""
    if opts.upgrade:
        return {}
    moving = {canonicalize_name(n) for n in opts.upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def resolve_request(
    request: AdviceRequest,
    *,
    opts: ResolveOptions,
    index: IndexConfig,
    pip: Any,
    targets: Sequence[RuntimeEnvironment],
    environ: Mapping[str, str],
    preferences: Mapping[NormalizedName, Version],
) -> tuple[Resolution, tuple[str, ...], int]:
    """Resolve for every target and merge. Returns (resolution, warnings, requests made)."""
    from packaging.version import Version

    from advisor.models import DistFile
    from advisor.resolution.candidates import BinaryPolicy, FileFilter
    from advisor.resolution.provider import AdvisorProvider, ProviderOptions
    from advisor.resolution.resolve import TargetResult, merge, resolve

    session = _open_session(opts, index, pip, environ)
    try:
        roots = [(line.requirement, line.origin) for line in request.requirements]
        constraints: dict[NormalizedName, list[PepRequirement]] = {}
        for c in request.constraints:
            constraints.setdefault(canonicalize_name(c.requirement.name), []).append(c.requirement)
        overrides: dict[NormalizedName, list[PepRequirement]] = {}
        for o in request.overrides:
            overrides.setdefault(canonicalize_name(o.requirement.name), []).append(o.requirement)
        only_binary = {*opts.only_binary, *request.index_options.only_binary}
        binary: dict[NormalizedName, BinaryPolicy] = {}
        default = BinaryPolicy.ANY
        for item in only_binary:
            for part in item.split(","):
                if part.strip() == ":all:":
                    default = BinaryPolicy.ONLY_BINARY
                elif part.strip() and part.strip() != ":none:":
                    binary[canonicalize_name(part.strip())] = BinaryPolicy.ONLY_BINARY
        for item in request.index_options.no_binary:
            for part in item.split(","):
                if part.strip() == ":all:":
                    default = BinaryPolicy.NO_BINARY
                elif part.strip() and part.strip() != ":none:":
                    binary[canonicalize_name(part.strip())] = BinaryPolicy.NO_BINARY
        direct_hashes = {
            line.requirement.url: line.hashes
            for line in request.requirements
            if line.requirement.url
        }

        def wrap(url: str, hashes: Sequence[tuple[str, str]]) -> DistFile:
            from urllib.parse import unquote, urlsplit

            from advisor.index.fetch import redact_url

            clean = redact_url(url)
            fragment = urlsplit(clean).fragment
            found = list(direct_hashes.get(url, ()))
            for part in fragment.split("&"):
                algo, _, value = part.partition("=")
                if algo in {"sha256", "sha384", "sha512"} and value:
                    found.append((algo, value))
            filename = unquote(urlsplit(clean).path.rsplit("/", 1)[-1])
            return DistFile(
                filename=filename,
                url=clean.split("#", 1)[0],
                index="",
                hashes=tuple(sorted(set(found))),
            )

        results: list[TargetResult] = []
        warnings: list[str] = []
        prefs = dict(preferences)
        for target in targets:
            if request.requires_python:
                from packaging.specifiers import SpecifierSet

                if not SpecifierSet(request.requires_python).contains(
                    Version(target.markers()["python_full_version"]), prereleases=True
                ):
                    raise InputError(
                        f"the project requires Python {request.requires_python}, but the target "
                        f"{target.name} has Python {target.python_version}"
                    )
            files = FileFilter(
                tags=target.tags(),
                python=Version(target.markers()["python_full_version"]),
                platform=target.platform,
                binary=binary,
                default_binary=default,
                no_build=opts.no_build,
                exclude_newer=opts.exclude_newer,
            )
            provider = AdvisorProvider(
                finder=session.finder,
                metadata=session.metadata,
                markers=target.markers(),
                files=files,
                options=ProviderOptions(
                    prereleases=opts.pre or request.index_options.pre,
                    prerelease_packages=frozenset(canonicalize_name(p) for p in opts.pre_packages),
                    preferences=prefs,
                    constraints={k: tuple(v) for k, v in constraints.items()},
                    overrides={k: tuple(v) for k, v in overrides.items()},
                    direct=frozenset(canonicalize_name(r.name) for r, _ in roots),
                ),
                wrap_file=wrap,
            )
            provider.warm(r.name for r, _ in roots if not r.url)
            label = target.name if len(targets) > 1 else f"{target.name} ({target.platform})"
            res = resolve(provider, roots, target=label)
            results.append(TargetResult(marker=target.lock_marker(), resolution=res))
            warnings.extend(provider.warnings)
            # later targets prefer the pins of earlier ones, so one lock converges
            for p in res.pins:
                prefs.setdefault(p.name, p.version)
        return (
            _with_hashes(merge(results), session.fetcher),
            tuple(dict.fromkeys(warnings)),
            session.finder.requests,
        )
    finally:
        session.close()


def _with_hashes(resolution: Resolution, fetcher: Fetcher) -> Resolution:
    """Every locked file with a sha256 (folders and direct URLs list none)."""
    from advisor.index.hashes import ensure_hash

    pins = []
    for pin in resolution.pins:
        files = tuple(ensure_hash(f, fetcher=fetcher) for f in pin.files)
        pins.append(pin if files == pin.files else dataclasses.replace(pin, files=files))
    return dataclasses.replace(resolution, pins=tuple(pins))


def lock(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LockOutcome:
    """Resolve ``inputs`` for the target environment(s) and render (and write) a lock."""
    from advisor import __version__
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.lockfile.pylock import LockMeta, render_pylock
    from advisor.lockfile.requirements import render_requirements
    from advisor.lockfile.write import write_atomic
    from advisor.request import load_request, request_digest

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")
    request = load_request(
        list(inputs),
        extras=opts.extras,
        groups=opts.groups,
        constraints=opts.constraints,
        overrides=opts.overrides,
        environ=environ,
        cwd=cwd,
    )
    config = load_config(Path(inputs[0]).resolve().parent)
    host = RuntimeEnvironment.detect()
    targets = build_targets(opts, config, host)
    index, pip = _index_config(opts, request, config, environ, cwd)
    if not index.indexes and not index.find_links:
        raise InputError("no index to resolve from: --no-index is set and no --find-links given")
    output = out.output
    if output is None:
        name = "pylock.toml" if out.format == "pylock" else "requirements.txt"
        output = Path(inputs[0]).resolve().parent / name
    existing = opts.preferences_from or (output if str(output) != "-" else None)
    previous = _previous_pins(existing)
    preferences = _preferences(opts, previous)
    resolution, warnings, requests = resolve_request(
        request,
        opts=opts,
        index=index,
        pip=pip,
        targets=targets,
        environ=environ,
        preferences=preferences,
    )
    digest = request_digest(
        request,
        extra={
            "index": index.public(),
            "targets": [_target_table(t) for t in targets],
            "recommendation": opts.recommendation,
            "options": {
                "pre": opts.pre,
                "pre-packages": sorted(opts.pre_packages),
                "only-binary": sorted(opts.only_binary),
                "no-build": opts.no_build,
                "exclude-newer": opts.exclude_newer.isoformat() if opts.exclude_newer else None,
            },
        },
    )
    if out.format == "pylock":
        text = render_pylock(
            resolution,
            LockMeta(
                environments=tuple(t.lock_marker() for t in targets),
                requires_python=request.requires_python,
                input_digest=digest,
                tool={
                    "advisor-version": __version__,
                    "recommendation": opts.recommendation,
                    "index": index.public(),
                    "targets": [_target_table(t) for t in targets],
                },
            ),
        )
    elif out.format == "requirements":
        text = render_requirements(resolution, header=f"{out.command}\ninput-digest: {digest}")
    else:
        raise InputError(f"unknown lock format {out.format!r}: use pylock or requirements")
    changed = tuple(
        (str(p.name), str(previous[p.name]) if p.name in previous else None, str(p.version))
        for p in resolution.pins
        if previous and previous.get(p.name) != p.version
    )
    path: Path | None = None
    if not out.dry_run and str(output) != "-":
        try:
            write_atomic(output, text)
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        path = output
    return LockOutcome(
        resolution=resolution,
        text=text,
        path=path,
        targets=targets,
        digest=digest,
        warnings=warnings,
        changed=changed,
        requests=requests,
    )


def _target_table(target: RuntimeEnvironment) -> dict[str, Any]:
    keep = ("name", "python_version", "implementation", "abi", "platform", "libc", "libc_version")
    data = target.to_dict()
    return {k: data[k] for k in keep if data.get(k) not in (None, "", [], ())}


def utcnow() -> datetime:
    return datetime.now(UTC)
