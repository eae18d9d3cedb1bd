"""Requirements and candidates as the resolver sees them, and the choice of files per version.

Sits between the index (lists of :class:`~advisor.models.DistFile`) and the resolvelib
provider: groups a project's files by version, keeps the files that can install on the
target runtime environment, and records for every version that cannot be used *why*
(specifier, wheel tags, requires-python, yanked, upload time), so a conflict can be explained
in plain words.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from advisor.models import DistFile, DistKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from packaging.requirements import Requirement as PepRequirement
    from packaging.tags import Tag

    from advisor.resolution.cooldown import Cooldown

__all__ = [
    "BinaryPolicy",
    "Candidate",
    "FileFilter",
    "Rejection",
    "Requirement",
    "VersionChoice",
    "as_requirement",
    "cuda_build",
    "identifier_for",
    "parse_cuda",
    "pinned_version",
    "split_identifier",
]


def identifier_for(name: str, extra: str | None = None) -> str:
    return f"{name}[{extra}]" if extra else name


def split_identifier(identifier: str) -> tuple[NormalizedName, str | None]:
    if identifier.endswith("]") and "[" in identifier:
        name, extra = identifier[:-1].split("[", 1)
        return NormalizedName(name), extra
    return NormalizedName(identifier), None


class BinaryPolicy(enum.Enum):
    """What kinds of distribution a project may use."""

    ANY = "any"
    ONLY_BINARY = "only-binary"  # wheels only
    NO_BINARY = "no-binary"  # sdists only


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    """One requirement on one identifier, with who asked for it.

    ``parent`` is ``None`` for a root requirement (then ``origin`` says which input line).
    ``specifier`` is already marker-evaluated for the target; ``url`` is a direct reference.
    ``pinned`` marks the base requirement an extra's candidate places on its own project.
    """

    identifier: str
    name: NormalizedName
    extra: str | None
    specifier: SpecifierSet
    url: str | None = None
    parent: Candidate | None = None
    origin: str = ""
    text: str = ""
    pinned: Version | None = None

    def describe_source(self) -> str:
        if self.parent is None:
            return self.origin or "the input"
        return f"{self.parent.name}=={self.parent.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One version of one project (with at most one extra) that could be pinned.

    ``files`` are the files usable on the target; ``metadata_file`` is the file whose core
    metadata stands for the version (the best-ranked wheel, else the sdist).
    """

    name: NormalizedName
    version: Version
    extra: str | None = None
    files: tuple[DistFile, ...] = ()
    url: str | None = None
    needs_build: bool = False
    yanked: bool = False

    @property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extra)

    @property
    def metadata_file(self) -> DistFile | None:
        return self.files[0] if self.files else None

    def __str__(self) -> str:
        extra = f"[{self.extra}]" if self.extra else ""
        return f"{self.name}{extra}=={self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """Why one version of a project cannot be used on the target."""

    version: Version
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionChoice:
    """Usable files of one version for the target, or the reason it is unusable."""

    version: Version
    files: tuple[DistFile, ...]  # best first: wheels by tag rank, then the sdist
    needs_build: bool
    yanked: bool
    requires_python: tuple[str, ...] = ()
    rejection: str | None = None
    #: why a release younger than the cooldown is used all the same (a warning when pinned)
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFilter:
    """Decides which files of a version can install on one target environment.

    ``tags`` is the target's ordered list of supported wheel tags; ``python`` the target
    interpreter version (``X.Y.Z``) against which ``data-requires-python`` is checked.
    ``cuda`` is the target's CUDA version (major, minor) when it has one: a version whose
    local label names a CUDA build (``+cu124``, the convention of PyTorch-style wheel
    indexes) is then usable only when built for that CUDA or an older one (such wheels carry
    their own CUDA libraries and need only a driver at least as new), so that of several
    variants of a release the one matching the target's CUDA, or else the newest older one, is
    chosen (the labels order them). Without a known CUDA, variants are left to version order,
    as pip does.
    """

    tags: Sequence[Tag]
    python: Version
    platform: str
    binary: Mapping[NormalizedName, BinaryPolicy] = field(default_factory=dict)
    default_binary: BinaryPolicy = BinaryPolicy.ANY
    no_build: bool = False
    exclude_newer: datetime | None = None
    cuda: tuple[int, int] | None = None
    cooldown: Cooldown | None = None
    _rank: dict[Tag, int] = field(default_factory=dict)
    _python_ok: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rank.update((tag, i) for i, tag in enumerate(self.tags))

    def rank(self, dist: DistFile) -> int | None:
        parsed = dist.parsed
        if parsed is None:
            return None
        ranks = [self._rank[t] for t in parsed.tags if t in self._rank]
        return min(ranks) if ranks else None

    def group(
        self, name: NormalizedName, files: Iterable[DistFile]
    ) -> dict[Version, list[DistFile]]:
        """Group ``files`` of project ``name`` by version, cheaply.

        Only the version part of each filename is parsed (and each distinct version string
        once); tags are parsed later, for the versions the resolver actually considers.
        """
        versions: dict[str, Version | None] = {}
        names: dict[str, bool] = {}
        out: dict[Version, list[DistFile]] = {}
        for dist in files:
            fn = dist.filename
            if fn.endswith(".whl"):
                parts = fn[:-4].split("-")
                if len(parts) not in (5, 6):
                    continue
                raw_name, raw_version = parts[0], parts[1]
                ok = names.get(raw_name)
                if ok is None:
                    ok = names[raw_name] = canonicalize_name(raw_name) == name
                if not ok:
                    continue
            else:
                parsed = dist.parsed
                if parsed is None or parsed.name != name:
                    continue
                raw_version = str(parsed.version)
            if raw_version not in versions:
                try:
                    versions[raw_version] = Version(raw_version)
                except ValueError:
                    versions[raw_version] = None
            version = versions[raw_version]
            if version is not None:
                out.setdefault(version, []).append(dist)
        return out

    def choose(self, name: NormalizedName, files: Iterable[DistFile]) -> list[VersionChoice]:
        """Decide every version of ``files``; newest version first (for reports)."""
        grouped = self.group(name, files)
        return [
            self.choose_version(name, v, grouped[v], project=grouped)
            for v in sorted(grouped, reverse=True)
        ]

    def choose_version(
        self,
        name: NormalizedName,
        version: Version,
        files: list[DistFile],
        *,
        project: Mapping[Version, Sequence[DistFile]] | None = None,
    ) -> VersionChoice:
        """The usable files of ``version``. ``project`` (every version's files) is what the
        cooldown's security exemption compares with; without it, no release is exempt for
        fixing an advisory."""
        if self.cuda is not None and version.local:
            built = cuda_build(version)
            if built is not None and built > self.cuda:
                return VersionChoice(
                    version=version,
                    files=(),
                    needs_build=False,
                    yanked=False,
                    rejection=f"a build for CUDA {built[0]}.{built[1]}; the target has CUDA"
                    f" {self.cuda[0]}.{self.cuda[1]}",
                )
        policy = self.binary.get(name, self.default_binary)
        reasons: list[str] = []
        candidates = files
        if self.exclude_newer is not None:
            cutoff = self.exclude_newer
            kept = [f for f in candidates if f.upload_time is None or f.upload_time <= cutoff]
            if not kept:
                reasons.append(f"uploaded after {cutoff.isoformat()} (--exclude-newer)")
            candidates = kept
        note = None
        if self.cooldown is not None and any(self.cooldown.is_young(f) for f in candidates):
            cooldown = self.cooldown
            why = cooldown.exemption(name, version, project or {})
            if why is None:
                candidates = [f for f in candidates if not cooldown.is_young(f)]
                if not candidates:
                    reasons.append(f"uploaded less than {cooldown.days:g} days ago (--cooldown)")
            else:
                note = f"{name} {version} is younger than the {cooldown.label}, used because {why}"
        fitting: list[DistFile] = []
        for f in candidates:
            spec = f.requires_python
            if spec:
                ok = self._python_ok.get(spec)
                if ok is None:
                    try:
                        ok = SpecifierSet(spec).contains(self.python, prereleases=True)
                    except InvalidSpecifier:
                        ok = True  # pip ignores an unparseable data-requires-python
                    self._python_ok[spec] = ok
                if not ok:
                    reasons.append(f"requires Python {spec}, the target has {self.python}")
                    continue
            fitting.append(f)
        wheels: list[tuple[int, str, DistFile]] = []
        sdists: list[DistFile] = []
        foreign_wheels = False
        for f in fitting:
            parsed = f.parsed
            if parsed is None:
                continue
            if parsed.kind is DistKind.WHEEL:
                r = self.rank(f)
                if r is None:
                    foreign_wheels = True
                elif policy is not BinaryPolicy.NO_BINARY:
                    wheels.append((r, f.filename, f))
            else:
                sdists.append(f)
        wheels.sort(key=lambda item: (item[0], item[1]))
        chosen = [w[2] for w in wheels]
        needs_build = False
        if policy is BinaryPolicy.ONLY_BINARY or self.no_build:
            if not chosen and sdists:
                flag = "--only-binary" if policy is BinaryPolicy.ONLY_BINARY else "--no-build"
                reasons.append(f"only a source distribution, and {flag} forbids building it")
        elif sdists:
            if not chosen:
                needs_build = True
            chosen.extend(sorted(sdists, key=lambda f: f.filename)[:1])
        if not chosen and foreign_wheels and not reasons:
            reasons.append(f"no wheel for the target platform ({self.platform})")
        elif not chosen and foreign_wheels:
            reasons.append(f"no wheel for the target platform ({self.platform})")
        yanked = bool(chosen) and all(f.yanked is not None for f in chosen)
        if chosen:
            chosen = [f for f in chosen if f.yanked is None] or chosen
        rejection = None if chosen else ("; ".join(dict.fromkeys(reasons)) or "no usable file")
        return VersionChoice(
            version=version,
            files=tuple(chosen),
            needs_build=needs_build,
            yanked=yanked,
            rejection=rejection,
            note=note if chosen else None,
        )


_CUDA_LABEL = re.compile(r"cu(\d{2,3})")


def cuda_build(version: Version) -> tuple[int, int] | None:
    """The CUDA version a local label names (``2.5.1+cu124`` → (12, 4); ``+cu92`` → (9, 2)),
    else ``None`` (no label, ``+cpu``, anything else)."""
    match = _CUDA_LABEL.fullmatch(version.local or "")
    if match is None:
        return None
    digits = match[1]
    return int(digits[:-1]), int(digits[-1])


def parse_cuda(text: str | None) -> tuple[int, int] | None:
    """``"12.4"`` / ``"12.4.1"`` / ``"12"`` → (12, 4) / (12, 4) / (12, 0); ``None`` stays."""
    if not text:
        return None
    parts = [int(p) for p in text.split(".")[:2] if p.isdigit()]
    if not parts:
        return None
    return parts[0], parts[1] if len(parts) > 1 else 0


def canonical(name: str) -> NormalizedName:
    return canonicalize_name(name)


def pinned_version(spec: SpecifierSet) -> Version | None:
    """The version an ``==X`` (no wildcard) or ``===X`` specifier pins, if it pins one."""
    for s in spec:
        if s.operator in {"==", "==="} and "*" not in s.version:
            try:
                return Version(s.version)
            except ValueError:
                return None
    return None


def as_requirement(
    req: PepRequirement,
    *,
    extra: str | None,
    parent: Candidate | None,
    origin: str = "",
) -> Requirement:
    name = canonicalize_name(req.name)
    return Requirement(
        identifier=identifier_for(name, extra),
        name=name,
        extra=extra,
        specifier=req.specifier,
        url=req.url,
        parent=parent,
        origin=origin,
        text=str(req),
    )
