"""Builds resolvelib providers for one request: roots, constraints, overrides, binary
policy, direct references, the target's file filter.

Shared by ``lock`` (one resolution per target) and ``advise`` (many resolutions per target,
with a scorer and bans), so both resolve exactly the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from packaging.requirements import Requirement as PepRequirement
    from packaging.version import Version

    from advisor.api.context import ResolveOptions, Session
    from advisor.environment import RuntimeEnvironment
    from advisor.models import DistFile
    from advisor.request import AdviceRequest
    from advisor.resolution.provider import (
        AdvisorProvider,
        CandidateOrder,
        CandidateScorer,
        ProviderCache,
    )

__all__ = ["Planner"]


class Planner:
    """Everything about a request that does not depend on the target, computed once."""

    def __init__(self, request: AdviceRequest, *, opts: ResolveOptions, session: Session) -> None:
        from advisor.resolution.candidates import BinaryPolicy

        self.request = request
        self.opts = opts
        self.session = session
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

            from advisor.models import DistFile
            from advisor.urls import redact_url

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

        self.roots = roots
        self.constraints = {k: tuple(v) for k, v in constraints.items()}
        self.constraint_origins: dict[str, str] = {}
        for c in request.constraints:
            self.constraint_origins.setdefault(str(c.requirement), c.origin)
        self.overrides = {k: tuple(v) for k, v in overrides.items()}
        self.binary = binary
        self.default_binary = default
        self.direct = frozenset(canonicalize_name(r.name) for r, _ in roots)
        self._direct_hashes = direct_hashes
        self._wrap = wrap

    @property
    def root_names(self) -> Iterator[str]:
        return (r.name for r, _ in self.roots if not r.url)

    @staticmethod
    def label(target: RuntimeEnvironment, targets: Sequence[RuntimeEnvironment]) -> str:
        return target.name if len(targets) > 1 else f"{target.name} ({target.platform})"

    def provider(
        self,
        target: RuntimeEnvironment,
        *,
        preferences: Mapping[NormalizedName, Version] | None = None,
        scorer: CandidateScorer | None = None,
        bans: Mapping[NormalizedName, frozenset[Version]] | None = None,
        cache: ProviderCache | None = None,
        order: CandidateOrder | None = None,
    ) -> AdvisorProvider:
        """A fresh provider for ``target`` (``cache`` shares work between resolutions)."""
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        from advisor.resolution.candidates import FileFilter, parse_cuda
        from advisor.resolution.provider import AdvisorProvider, CandidateOrder, ProviderOptions

        request, opts = self.request, self.opts
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
            no_build=opts.no_build,
            exclude_newer=opts.exclude_newer,
            # only a CUDA asked for (--cuda, a named environment, an image recipe) filters the
            # +cuXYZ variants; the host's detected toolkit leaves them to pip's order
            cuda=parse_cuda(target.cuda_version) if target.cuda_source == "user" else None,
        )
        return AdvisorProvider(
            finder=self.session.finder,
            metadata=self.session.metadata,
            markers=target.markers(),
            files=files,
            options=ProviderOptions(
                prereleases=opts.pre or request.index_options.pre,
                prerelease_packages=frozenset(canonicalize_name(p) for p in opts.pre_packages),
                preferences=dict(preferences or {}),
                constraints=self.constraints,
                constraint_origins=self.constraint_origins,
                overrides=self.overrides,
                direct=self.direct,
                bans=dict(bans or {}),
                order=order or CandidateOrder.NEWEST,
            ),
            wrap_file=self._wrap,
            cache=cache,
            scorer=scorer,
        )
