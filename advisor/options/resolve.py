"""The options every resolving command takes, and the one place they are split for the layers.

Just below the composition root: :class:`ResolveOptions` is the public value the CLI and
Python callers build (and :mod:`advisor.options.record` reads back from a lock); its methods
derive the small value each layer takes (the index choice, the targets, the session's
options, the planner's), so no layer below sees a ``ResolveOptions`` whole. The functions
here decide what a run resolves with: the indexes by priority (:func:`index_choices`), a
recorded index's options, the recommendation type an advice runs under.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.environment.targets import TargetSpec
from advisor.index.session import IndexChoice, SessionOptions
from advisor.models import IndexStrategy, RecommendationType

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path

    from advisor.advice.planner import PlanOptions
    from advisor.advice.runtimes import RuntimeChoice
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.index.session import IndexConfig
    from advisor.index.settings import PipSettings
    from advisor.request import IndexOptions
    from advisor.resolution.cooldown import Cooldown

__all__ = ["ResolveOptions", "advised_recommendation", "build_targets", "index_choices"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveOptions:
    """Options every resolving command takes (``lock``, ``advise``, ``image generate`` ...)."""

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
    cuda: str | None = None  # the target's CUDA (X.Y): decides +cuXYZ variants
    envs: tuple[str, ...] = ()
    index_strategy: IndexStrategy | None = None
    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    exclude_newer: datetime | None = None
    cooldown_days: float | None = None  # --cooldown, or a relative --exclude-newer
    offline: bool = False
    no_cache: bool = False
    refresh: bool = False
    cache_dir: Path | None = None
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    build_timeout: float = 300.0  # seconds per sdist metadata build
    recommendation: RecommendationType = RecommendationType.LATEST
    workload: str | None = None  # performance: the probes that matter (--workload)
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    preferences_from: Path | None = None

    @classmethod
    def from_index(cls, found: IndexOptions | None, *, refresh: bool = False) -> ResolveOptions:
        """Only the index options ``found`` (a requirements lock's own lines; ``None``: none),
        everything else at its default: how a requirements lock is made again."""
        if found is None:
            return cls(refresh=refresh)
        return cls(
            index_url=found.index_url,
            extra_index_urls=found.extra_index_urls,
            find_links=found.find_links,
            no_index=found.no_index,
            refresh=refresh,
        )

    @property
    def is_pip_choice(self) -> bool:
        """Whether a lock of these options is pip's choice (``latest``), searched for nothing."""
        return self.recommendation == RecommendationType.LATEST

    def index_choice(self) -> IndexChoice:
        """The command line's index options (the highest priority of :func:`index_choices`)."""
        return IndexChoice(
            index_url=self.index_url,
            extra_index_urls=self.extra_index_urls,
            find_links=self.find_links,
            no_index=self.no_index,
        )

    def target_spec(self) -> TargetSpec:
        """The targets asked for (:func:`advisor.environment.targets.build_targets`)."""
        return TargetSpec(
            python=self.python,
            platform=self.platform,
            implementation=self.implementation,
            cuda=self.cuda,
            envs=self.envs,
        )

    def index_config(
        self,
        found: IndexOptions,
        config: AdvisorConfig,
        pip: PipSettings,
        *,
        default_index: Callable[[], str],
    ) -> IndexConfig:
        """Where packages come from (:func:`index_choices`, merged by
        :func:`advisor.index.session.choose_indexes`): ``--index-strategy``, else the
        project's; ``default_index()`` when no source names an index (only then asked: it
        imports pip)."""
        from advisor.index.session import choose_indexes

        choices = index_choices(self, found, config, pip)
        named = any(c.index_url for c in choices)  # then the default is never taken
        return choose_indexes(
            choices,
            default_index="" if named else default_index(),
            strategy=self.index_strategy or config.index_strategy,
            pinned=config.pinned_indexes,
        )

    def advised(self, given: RecommendationType | None, config: AdvisorConfig) -> ResolveOptions:
        """These options as an advice runs them: under :func:`advised_recommendation`."""
        chosen = advised_recommendation(given, opts=self, config=config)
        return dataclasses.replace(self, recommendation=chosen)

    def session_options(self) -> SessionOptions:
        """How the index session fetches and builds (:func:`advisor.index.session.open_session`)."""
        return SessionOptions(
            offline=self.offline,
            refresh=self.refresh,
            no_build=self.no_build,
            build_timeout=self.build_timeout,
        )

    def plan_options(self, cooldown: Cooldown | None = None) -> PlanOptions:
        """What chooses candidates (the planner's options, recorded in the lock), with the
        ``cooldown`` built for them (``--cooldown``; ``None``: none)."""
        from advisor.advice.planner import PlanOptions

        return PlanOptions(
            pre=self.pre,
            pre_packages=self.pre_packages,
            only_binary=self.only_binary,
            no_build=self.no_build,
            exclude_newer=self.exclude_newer,
            cooldown=cooldown,
        )

    def for_explanation(self) -> ResolveOptions:
        """These options (a lock's, :func:`advisor.options.record.recorded_options`) as
        ``explain`` advises under them: the lock's recommendation type, ``stable`` for a
        ``latest`` lock (pip's choice has no terms to show)."""
        if self.recommendation != RecommendationType.LATEST:
            return self
        return dataclasses.replace(self, recommendation=RecommendationType.STABLE)

    def for_runtime(self, choice: RuntimeChoice) -> ResolveOptions:
        """These options for one runtime of ``advise --compare-env``: its configured
        environment, or its Python (and an image recipe's platform, implementation, CUDA),
        the rest as given."""
        return dataclasses.replace(
            self,
            envs=(choice.env,) if choice.env else (),
            python=choice.python or (None if choice.env else self.python),
            platform=choice.platform or self.platform,
            implementation=choice.implementation or self.implementation,
            cuda=choice.cuda or self.cuda,
        )

    def for_image(
        self, recommendation: RecommendationType, *, extra_indexes: tuple[str, ...] = ()
    ) -> ResolveOptions:
        """These options for one image's lock (``advisor image generate``): its
        ``recommendation``, and the indexes its recipe adds after these, each once (the
        extra indexes as given when the recipe adds none)."""
        extra = self.extra_index_urls
        if extra_indexes:
            extra = tuple(dict.fromkeys((*extra, *extra_indexes)))
        return dataclasses.replace(self, recommendation=recommendation, extra_index_urls=extra)


def build_targets(
    opts: ResolveOptions, config: AdvisorConfig, host: RuntimeEnvironment
) -> tuple[RuntimeEnvironment, ...]:
    """The target environments: named ``--env`` entries, else one from --python/--platform
    (:func:`advisor.environment.targets.build_targets`; ``host`` fills what is not given)."""
    from advisor.environment.targets import build_targets as targets_of

    spec = opts.target_spec()
    return targets_of(spec, named=config.environments, where=config.source, host=host)


def index_choices(
    opts: ResolveOptions, found: IndexOptions, config: AdvisorConfig, pip: PipSettings
) -> tuple[IndexChoice, ...]:
    """Where packages come from, by priority: the command line (``opts``), the inputs' own
    options (``found``), ``[tool.advisor]`` (``config``), pip's configuration (``pip``)."""
    return (
        opts.index_choice(),
        IndexChoice(
            index_url=found.index_url,
            extra_index_urls=found.extra_index_urls,
            find_links=found.find_links,
            no_index=found.no_index,
        ),
        IndexChoice(
            index_url=config.index_url,
            extra_index_urls=config.extra_index_urls,
            find_links=config.find_links,
        ),
        IndexChoice(
            index_url=pip.index_url,
            extra_index_urls=tuple(pip.extra_index_urls),
            find_links=tuple(pip.find_links),
            no_index=pip.no_index,
        ),
    )


def advised_recommendation(
    given: RecommendationType | str | None, *, opts: ResolveOptions, config: AdvisorConfig
) -> RecommendationType:
    """The type an advice searches for: ``given`` (an explicit ``--recommendation``), else
    ``opts.recommendation`` unless that is ``latest`` (the default), else the project's
    ``[tool.advisor] recommendation``, else ``stable``. Raises
    :class:`~advisor.errors.InputError` for an unknown name."""
    chosen = given or (
        opts.recommendation if opts.recommendation != RecommendationType.LATEST else None
    )
    return RecommendationType.parse(chosen or config.recommendation or RecommendationType.STABLE)
