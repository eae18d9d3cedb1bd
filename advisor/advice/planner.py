"""The planner: resolvelib providers for one request, one target at a time.

First step of the decide layer. Everything about a request that does not depend on the
target (roots, constraints, overrides, the binary policy, direct references) is computed once;
:meth:`Planner.provider` then builds a fresh :class:`~advisor.resolution.provider.AdvisorProvider`
for a target, optionally with a scorer, bans and a cache shared between resolutions.

Shared by ``lock`` (one resolution per target) and the advice engine (many resolutions per
target, with a scorer and bans), so both resolve exactly the same way. Files and metadata come
through the :class:`~advisor.resolution.options.Finder` and
:class:`~advisor.resolution.options.MetadataSource` protocols: the API opens the index session
that implements them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

    from packaging.requirements import Requirement as PepRequirement
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.models import DistFile, ProjectStatus
    from advisor.request import AdviceRequest
    from advisor.resolution.candidates import BinaryPolicy
    from advisor.resolution.cooldown import Cooldown
    from advisor.resolution.options import (
        CandidateOrder,
        CandidateScorer,
        Finder,
        MetadataSource,
        ProviderCache,
    )
    from advisor.resolution.provider import AdvisorProvider

__all__ = ["PlanOptions", "Planner"]

_HASH_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """What the command line adds to the request's own options when choosing candidates.

    ``only_binary`` entries are pip's (``NAME[,NAME...]``, ``:all:``, ``:none:``) and merge
    with the request's ``--only-binary``; ``pre`` allows pre-releases of every project (as
    does the request's ``--pre``), ``pre_packages`` of those named; ``no_build`` leaves out
    every sdist; ``exclude_newer`` leaves out files uploaded after it; ``cooldown`` leaves
    out releases younger than its days, but for its exemptions.
    """

    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    exclude_newer: datetime | None = None
    cooldown: Cooldown | None = None


def _binary_policies(
    only_binary: Iterable[str], no_binary: Iterable[str]
) -> tuple[dict[NormalizedName, BinaryPolicy], BinaryPolicy]:
    """Per-project binary policy and the default, from pip's ``--only-binary`` and
    ``--no-binary`` entries (``:all:`` sets the default; ``--no-binary`` entries are applied
    last, so they win over ``--only-binary`` ones)."""
    from advisor.resolution.candidates import BinaryPolicy

    binary: dict[NormalizedName, BinaryPolicy] = {}
    default = BinaryPolicy.ANY
    steps = ((only_binary, BinaryPolicy.ONLY_BINARY), (no_binary, BinaryPolicy.NO_BINARY))
    for entries, policy in steps:
        for item in entries:
            for part in item.split(","):
                if part.strip() == ":all:":
                    default = policy
                elif part.strip() and part.strip() != ":none:":
                    binary[canonicalize_name(part.strip())] = policy
    return binary, default


class Planner:
    """Everything about a request that does not depend on the target, computed once.

    Cost: construction is one pass over the request's lines; :meth:`provider` is cheap (no
    I/O: the provider fetches lazily, through ``finder`` and ``metadata``).
    """

    def __init__(
        self,
        request: AdviceRequest,
        *,
        finder: Finder,
        metadata: MetadataSource,
        options: PlanOptions,
    ) -> None:
        self.request = request
        self.options = options
        self._finder = finder
        self._metadata = metadata
        roots = [(line.requirement, line.origin) for line in request.requirements]
        constraints: dict[NormalizedName, list[PepRequirement]] = {}
        for c in request.constraints:
            constraints.setdefault(canonicalize_name(c.requirement.name), []).append(c.requirement)
        overrides: dict[NormalizedName, list[PepRequirement]] = {}
        for o in request.overrides:
            overrides.setdefault(canonicalize_name(o.requirement.name), []).append(o.requirement)
        self.binary, self.default_binary = _binary_policies(
            {*options.only_binary, *request.index_options.only_binary},
            request.index_options.no_binary,
        )
        self.roots = roots
        self.constraints = {k: tuple(v) for k, v in constraints.items()}
        self.constraint_origins: dict[str, str] = {}
        for c in request.constraints:
            self.constraint_origins.setdefault(str(c.requirement), c.origin)
        self.overrides = {k: tuple(v) for k, v in overrides.items()}
        self.direct = frozenset(canonicalize_name(r.name) for r, _ in roots)
        self._direct_hashes = {
            line.requirement.url: line.hashes
            for line in request.requirements
            if line.requirement.url
        }

    def project_status(self, name: str) -> ProjectStatus | None:
        """The PEP 792 status the index gives project ``name`` (``None``: none given).
        Free once the project's files were looked up."""
        return self._finder.project_status(name)

    @property
    def root_names(self) -> Iterator[str]:
        return (r.name for r, _ in self.roots if not r.url)

    @staticmethod
    def label(target: RuntimeEnvironment, targets: Sequence[RuntimeEnvironment]) -> str:
        """How resolutions and reports name ``target`` among ``targets``."""
        return target.name if len(targets) > 1 else f"{target.name} ({target.platform})"

    def _direct_file(self, url: str, hashes: Sequence[tuple[str, str]]) -> DistFile:
        """The file a direct reference names: credentials removed, with the hashes its
        requirement line gave (``--hash``) and those of its URL fragment. ``hashes`` (the
        provider's) are not used: the line's own are complete."""
        from urllib.parse import unquote, urlsplit

        from advisor.models import DistFile
        from advisor.urls import redact_url

        clean = redact_url(url)
        fragment = urlsplit(clean).fragment
        found = list(self._direct_hashes.get(url, ()))
        for part in fragment.split("&"):
            algo, _, value = part.partition("=")
            if algo in _HASH_ALGORITHMS and value:
                found.append((algo, value))
        filename = unquote(urlsplit(clean).path.rsplit("/", 1)[-1])
        return DistFile(
            filename=filename,
            url=clean.split("#", 1)[0],
            index="",
            hashes=tuple(sorted(set(found))),
        )

    def provider(
        self,
        target: RuntimeEnvironment,
        *,
        preferences: Mapping[NormalizedName, Version] | None = None,
        scorer: CandidateScorer | None = None,
        bans: Mapping[NormalizedName, frozenset[Version]] | None = None,
        cache: ProviderCache | None = None,
        order: CandidateOrder | None = None,
        ban_reason: Callable[[NormalizedName, Version], str] | None = None,
    ) -> AdvisorProvider:
        """A fresh provider for ``target`` (``cache`` shares work between resolutions;
        ``ban_reason`` says why a version of ``bans`` is banned, when a conflict is explained).

        Raises :class:`~advisor.errors.InputError` when the target's Python is outside the
        project's ``requires-python``.
        """
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        from advisor.resolution.candidates import FileFilter, parse_cuda
        from advisor.resolution.provider import AdvisorProvider, CandidateOrder, ProviderOptions

        request, options = self.request, self.options
        python = Version(target.markers()["python_full_version"])
        if request.requires_python and not SpecifierSet(request.requires_python).contains(
            python, prereleases=True
        ):
            raise InputError(
                f"the project requires Python {request.requires_python}, but the target "
                f"{target.name} has Python {target.python_version}"
            )
        files = FileFilter(
            tags=target.tags(),
            python=python,
            platform=target.platform,
            binary=self.binary,
            default_binary=self.default_binary,
            no_build=options.no_build,
            exclude_newer=options.exclude_newer,
            cooldown=options.cooldown,
            # only a CUDA asked for (--cuda, a named environment, an image recipe) filters the
            # +cuXYZ variants; the host's detected toolkit leaves them to pip's order
            cuda=parse_cuda(target.cuda_version) if target.cuda_source == "user" else None,
        )
        return AdvisorProvider(
            finder=self._finder,
            metadata=self._metadata,
            markers=target.markers(),
            files=files,
            options=ProviderOptions(
                prereleases=options.pre or request.index_options.pre,
                prerelease_packages=frozenset(canonicalize_name(p) for p in options.pre_packages),
                preferences=dict(preferences or {}),
                constraints=self.constraints,
                constraint_origins=self.constraint_origins,
                overrides=self.overrides,
                direct=self.direct,
                bans=dict(bans or {}),
                ban_reason=ban_reason,
                order=order or CandidateOrder.NEWEST,
            ),
            wrap_file=self._direct_file,
            cache=cache,
            scorer=scorer,
        )
