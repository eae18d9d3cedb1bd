"""Image build contexts: recipe → target environment → lock → Containerfile + context.

Part of the composition root (``advisor image generate`` calls only this). The stack is
resolved for the runtime environment the recipe's base image gives (its Python,
implementation, platform and CUDA), never for the machine running the advisor; the stack is
chosen as :func:`advisor.api.locking.lock` chooses it (:func:`~advisor.api.locking.choose_stack`)
and its locks rendered by the same :func:`~advisor.api.locking.finish`, then
:mod:`advisor.image` renders the Containerfile and writes the folder. The locked files are
vendored into the context's ``wheels/`` (:mod:`advisor.api.vendoring`: downloaded once,
hash-checked), so the build needs no index; the prescriptions that apply to the stack on that
target advise the image's environment variables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from advisor._version import __version__
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.models import LockFormat

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import Prepared
    from advisor.api.locking import LockedStack
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import Resolution

__all__ = ["ImageOutcome", "generate", "list_recipes", "recipe_target", "resolve_recipes"]

_COMMAND = "advisor image generate"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageOutcome:
    """A written build context: its folder, files, the recipe, target and resolution."""

    folder: Path
    files: tuple[Path, ...]
    recipe: ImageRecipe
    target: RuntimeEnvironment
    resolution: Resolution
    lock_digest: str  # sha256 of pylock.toml
    input_digest: str  # the lock's input digest
    wheels: tuple[str, ...] = ()  # file names vendored into wheels/
    env_advice: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _knowledge_folder(knowledge_dir: Path | None) -> Path:
    from advisor.api.bundled import bundled_knowledge_dir

    folder = knowledge_dir or bundled_knowledge_dir()
    if folder is None:
        raise InputError("no knowledge folder with image recipes: pass --knowledge-dir")
    return folder


def list_recipes(
    *, knowledge_dir: Path | None = None, now: datetime | None = None
) -> tuple[ImageRecipe, ...]:
    """The recipes of ``knowledge_dir/images`` (default: this checkout's ``knowledge/``)."""
    from advisor.image.recipes import load_recipes

    date = (now or datetime.now(UTC)).date().isoformat()
    return load_recipes(_knowledge_folder(knowledge_dir), date=date)


def recipe_target(recipe: ImageRecipe, *, host: RuntimeEnvironment) -> RuntimeEnvironment:
    """The runtime environment the recipe's base image gives (named after the recipe)."""
    from advisor.environment import RuntimeEnvironment

    target = RuntimeEnvironment.for_target(
        host=host,
        name=recipe.name,
        python=recipe.python,
        platform=recipe.platform,
        implementation=recipe.implementation,
        cuda=recipe.cuda,
    )
    if recipe.cuda is None:  # the base has no CUDA runtime, whatever the host has
        target = dataclasses.replace(target, cuda_version=None, cuda_source=None, gpus=())
    return target


def generate(
    recipe_name: str,
    inputs: Sequence[Path] = (),
    *,
    opts: ResolveOptions,
    output: Path,
    knowledge_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    vendor: bool = True,
    events: ProgressEvents = SILENT,
    preferences: Mapping[str, str] | None = None,
) -> ImageOutcome:
    """Resolve ``inputs`` (default: the recipe's requirements, written to
    ``output/requirements.in``) for the recipe's base image and write a build context to
    ``output``: Containerfile, pylock.toml, requirements.txt, .containerignore,
    .dockerignore, image.json, and (``vendor``) the locked files in ``wheels/``.

    ``opts.recommendation`` other than ``latest`` runs the advice search and records its
    report in ``image.json``. Resolutions, builds, retries and downloads report to ``events``.
    ``preferences`` (name → version) are tried first where the target allows them, as a
    re-lock keeps its previous pins (``generate --all`` aligns a family of images so).
    Raises :class:`InputError` for an unknown recipe (listing the
    known ones) and :class:`~advisor.errors.NoViableStack` when the base's Python (or
    platform) cannot satisfy the requirements.
    """
    from advisor.api.advising import AdviseOptions
    from advisor.api.locking import choose_stack
    from advisor.api.vendoring import vendor_wheels
    from advisor.image.containerfile import ContainerfileSpec, render_containerfile
    from advisor.image.context import BuildContext, render_constraints, write_context
    from advisor.image.recipes import find_recipe, load_recipes
    from advisor.report.json import advice_to_dict

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    folder = _knowledge_folder(knowledge_dir)
    recipe = find_recipe(load_recipes(folder, date=now.date().isoformat()), recipe_name)
    extra_inputs: dict[str, str] = {}
    if not inputs:
        inputs, extra_inputs = _default_inputs(recipe, output)
    prep, opts, warnings = _prepare(
        recipe, inputs, opts=opts, output=output, environ=environ, cwd=cwd, preferences=preferences
    )
    target = prep.targets[0]
    stack = choose_stack(
        prep,
        opts=opts,
        advice=AdviseOptions(knowledge_dirs=(folder,)),
        now=now,
        events=events,
    )
    resolution = stack.resolution
    advices = [advice_to_dict(a) for a in stack.advice.advices] if stack.advice else None
    warnings = (*warnings, *stack.warnings)
    locks = _render_locks(prep, stack, opts=opts, output=output, vendor=vendor, warnings=warnings)
    env_advice, advice_warnings = _env_advice(folder, resolution, target, opts, now)
    warnings = (*warnings, *advice_warnings)
    wheels, wheel_warnings = vendor_wheels(
        prep, opts, resolution, output=output, vendor=vendor, events=events
    )
    warnings = (*warnings, *wheel_warnings)
    spec = ContainerfileSpec(
        needs_build=any(p.needs_build for p in resolution.pins),
        packages=len(resolution.pins),
        wheels=vendor,
        labels=_labels(recipe, opts, locks, advices),
        env=env_advice,
    )
    record = _image_record(
        recipe,
        target,
        opts=opts,
        folder=folder,
        locks=locks,
        stack=stack,
        wheels=wheels,
        env_advice=env_advice,
    )
    files = write_context(
        output,
        BuildContext(
            containerfile=render_containerfile(recipe, spec),
            pylock=locks.pylock,
            requirements=locks.requirements,
            record=record,
            inputs=extra_inputs,
            constraints=render_constraints(
                {str(p.name): str(p.version) for p in resolution.pins}, recipe=recipe.name
            ),
            sbom=_sbom(locks.pylock, recipe, opts, locks.lock_digest),
        ),
    )
    return ImageOutcome(
        folder=output,
        files=files,
        recipe=recipe,
        target=target,
        resolution=resolution,
        lock_digest=locks.lock_digest,
        input_digest=locks.input_digest,
        wheels=wheels,
        env_advice=env_advice,
        warnings=warnings,
    )


def _default_inputs(recipe: ImageRecipe, output: Path) -> tuple[tuple[Path, ...], dict[str, str]]:
    """The recipe's own requirements, written to ``output/requirements.in``: the inputs, and
    the file for the context (name → text)."""
    from advisor.lockfile.write import write_atomic

    text = "".join(f"{r}\n" for r in recipe.requirements)
    extra = {"requirements.in": f"# the default requirements of {recipe.name}\n{text}"}
    try:
        output.mkdir(parents=True, exist_ok=True)
        write_atomic(output / "requirements.in", extra["requirements.in"])
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return (output / "requirements.in",), extra


def _prepare(
    recipe: ImageRecipe,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    output: Path,
    environ: Mapping[str, str],
    cwd: Path | None,
    preferences: Mapping[str, str] | None = None,
) -> tuple[Prepared, ResolveOptions, tuple[str, ...]]:
    """The run for the recipe's base: its one target, no previous pins (an image locks
    afresh; ``preferences`` are the pins to try first, for a family of images), the
    recipe's extra indexes added (the options with them are returned), its framework
    packages pinned to the first; and the warnings about indexes left out."""
    from advisor.api.inputs import LockOptions, prepare
    from advisor.environment import RuntimeEnvironment

    recipe_indexes, warnings = _recipe_indexes(recipe, environ)
    if recipe_indexes:
        extra = tuple(dict.fromkeys((*opts.extra_index_urls, *recipe_indexes)))
        opts = dataclasses.replace(opts, extra_index_urls=extra)
    prep = prepare(
        inputs, opts=opts, out=LockOptions(output=output / "pylock.toml"), environ=environ, cwd=cwd
    )
    target = recipe_target(recipe, host=RuntimeEnvironment.detect())
    prep = dataclasses.replace(prep, targets=(target,), previous=_preferred(preferences))
    if recipe_indexes and recipe.index_packages:  # the framework's builds, from its index only
        pinned = {**prep.index.pinned, **dict.fromkeys(recipe.index_packages, recipe_indexes[0])}
        prep = dataclasses.replace(prep, index=dataclasses.replace(prep.index, pinned=pinned))
    return prep, opts, warnings


@dataclass(frozen=True, slots=True, kw_only=True)
class _Locks:
    """The context's two locks of one stack, and their digests."""

    pylock: str
    requirements: str
    input_digest: str  # the lock's input digest (both locks record the same)
    lock_digest: str  # sha256 of pylock.toml


def _render_locks(
    prep: Prepared,
    stack: LockedStack,
    *,
    opts: ResolveOptions,
    output: Path,
    vendor: bool,
    warnings: tuple[str, ...],
) -> _Locks:
    """pylock.toml and requirements.txt of ``stack``, as the lock job renders them (not
    written here); the requirements lock names the indexes only when nothing is vendored."""
    from advisor.api.inputs import LockOptions
    from advisor.api.locking import finish

    def render(name: str, fmt: LockFormat) -> tuple[str, str]:
        out = LockOptions(
            output=output / name,
            format=fmt,
            dry_run=True,
            command=_COMMAND,
            index_lines=not vendor,
        )
        done = finish(
            prep, stack.resolution, opts=opts, out=out, warnings=warnings, tool=stack.tool
        )
        return done.text, done.digest

    pylock, input_digest = render("pylock.toml", LockFormat.PYLOCK)
    requirements, _ = render("requirements.txt", LockFormat.REQUIREMENTS)
    return _Locks(
        pylock=pylock,
        requirements=requirements,
        input_digest=input_digest,
        lock_digest="sha256:" + hashlib.sha256(pylock.encode("utf-8")).hexdigest(),
    )


def _labels(
    recipe: ImageRecipe,
    opts: ResolveOptions,
    locks: _Locks,
    advices: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """The image's OCI labels (provenance: recipe, base, digests, tool; what the image
    carries, by path), empty ones left out."""
    labels = {
        "org.opencontainers.image.title": recipe.name,
        "org.opencontainers.image.description": recipe.summary,
        "org.opencontainers.image.base.name": recipe.base_image,
        **(
            {"org.opencontainers.image.base.digest": recipe.base_digest}
            if recipe.base_digest
            else {}
        ),
        "io.stack-advisor.recipe": recipe.name,
        "io.stack-advisor.recommendation": opts.recommendation,
        "io.stack-advisor.lock-digest": locks.lock_digest,
        "io.stack-advisor.input-digest": locks.input_digest,
        "io.stack-advisor.version": __version__,
        **_content_labels(advices),
    }
    return {k: v for k, v in labels.items() if v}


def _preferred(preferences: Mapping[str, str] | None) -> dict[NormalizedName, Version]:
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    return {canonicalize_name(n): Version(v) for n, v in (preferences or {}).items()}


def _content_labels(advice: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Labels naming what the image carries (its constraints, lock and SBOM, by path) and,
    for an advised image, the advice's summary as compact JSON (``advisor image inspect``
    reads them back)."""
    from advisor.image.context import CONSTRAINTS_PATH, IMAGE_DATA_DIR, SBOM_FILE

    labels = {
        "io.stack-advisor.constraints": CONSTRAINTS_PATH,
        "io.stack-advisor.lock": f"{IMAGE_DATA_DIR}/pylock.toml",
        "io.stack-advisor.sbom": f"{IMAGE_DATA_DIR}/{SBOM_FILE}",
    }
    if advice:
        summary = {"recommendation": advice[0].get("recommendation"), **advice[0]["summary"]}
        labels["io.stack-advisor.advice"] = json.dumps(summary, sort_keys=True)
    return labels


def _sbom(pylock: str, recipe: ImageRecipe, opts: ResolveOptions, lock_digest: str) -> str:
    """The image's CycloneDX SBOM, generated from its ``pylock.toml`` text."""
    from advisor.image.sbom import SbomSubject, render_sbom

    subject = SbomSubject(
        recipe=recipe.name,
        lock_digest=lock_digest,
        tool_version=__version__,
        properties={
            "recipe": recipe.name,
            "base-image": recipe.base_image,
            "lock-digest": lock_digest,
            "recommendation": str(opts.recommendation),
        },
    )
    return render_sbom(pylock, subject=subject)


def _image_record(
    recipe: ImageRecipe,
    target: RuntimeEnvironment,
    *,
    opts: ResolveOptions,
    folder: Path,
    locks: _Locks,
    stack: LockedStack,
    wheels: tuple[str, ...],
    env_advice: Mapping[str, tuple[str, str]],
) -> dict[str, Any]:
    """``image.json``: what the context was made from and of (the advice's report, one per
    target, when the advice search chose the stack)."""
    from advisor.api.context import target_table
    from advisor.knowledge.sources.folder import content_digest

    record: dict[str, Any] = {
        "advisor-version": __version__,
        "recipe": _recipe_record(recipe),
        "environment": {**target_table(target), **_cuda(target)},
        "recommendation": opts.recommendation,
        "knowledge-digest": content_digest(folder),
        "lock-digest": locks.lock_digest,
        "input-digest": locks.input_digest,
        "pins": {str(p.name): str(p.version) for p in stack.resolution.pins},
        "wheels": list(wheels),
        "env-advice": {k: {"value": v, "rule": r} for k, (v, r) in sorted(env_advice.items())},
    }
    if stack.advice is not None:
        from advisor.report.json import advice_to_dict

        record["advice"] = [advice_to_dict(a) for a in stack.advice.advices]
    return record


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _recipe_indexes(
    recipe: ImageRecipe, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The recipe's extra indexes with ``${NAME}`` taken from ``environ`` (a framework's
    wheel index is named by the user's environment, never written in a recipe), and a
    warning for each one left out because its variable is not set. Raises
    :class:`InputError` for a variable that gives no http(s) or file URL."""
    from advisor.urls import redact_url

    urls: list[str] = []
    warnings: list[str] = []
    for template in recipe.extra_index_urls:
        missing = [n for n in _VARIABLE.findall(template) if not environ.get(n, "").strip()]
        if missing:
            warnings.append(
                f"recipe {recipe.name}: the extra index {template} is left out because"
                f" {missing[0]} is not set; the default index's builds are used instead"
            )
            continue
        url = _VARIABLE.sub(lambda m: environ[m[1]].strip().rstrip("/"), template)
        if not url.startswith(("http://", "https://", "file:")):
            raise InputError(
                f"recipe {recipe.name}: the extra index {template} gives {redact_url(url)!r},"
                " not an http(s) or file URL"
            )
        urls.append(url)
    return tuple(urls), tuple(warnings)


def _env_advice(
    folder: Path,
    resolution: Resolution,
    target: RuntimeEnvironment,
    opts: ResolveOptions,
    now: datetime,
) -> tuple[dict[str, tuple[str, str]], tuple[str, ...]]:
    """Variable → (value, rule id) from the prescriptions of ``folder`` that apply to the
    stack on ``target``; the first rule (by id) wins a variable two rules set differently,
    with a warning naming both."""
    from advisor.knowledge.rules import evaluate_stack
    from advisor.knowledge.schema import Prescription
    from advisor.knowledge.sources.folder import load_knowledge_folder

    loaded = load_knowledge_folder(folder, date=now.date().isoformat())
    rules = [o for o in loaded.observations if isinstance(o, Prescription) and o.env_advice]
    pins = {str(p.name): p.version for p in resolution.pins}
    hits = evaluate_stack(rules, pins, env=target, recommendation=opts.recommendation)
    advice: dict[str, tuple[str, str]] = {}
    warnings = [
        f"{p.file}:{p.line}: {p.field + ': ' if p.field else ''}{p.message} (not applied)"
        for p in loaded.problems
        if "prescriptions" in p.file
    ][:5]
    for hit in hits:
        for name, value in sorted(hit.rule.env_advice.items()):
            if name not in advice:
                advice[name] = (value, hit.rule.id)
            elif advice[name][0] != value:
                kept, by = advice[name]
                warnings.append(
                    f"prescriptions disagree on {name}: {by} advises {kept!r} (kept),"
                    f" {hit.rule.id} advises {value!r}"
                )
    return advice, tuple(warnings)


def resolve_recipes(
    names: Sequence[str],
    *,
    opts: ResolveOptions,
    knowledge_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> dict[str, dict[str, str] | str]:
    """What each recipe's default requirements resolve to on its base (name → version of
    every pin), or why nothing does (``"no stack: …"``), as ``generate`` would lock them.
    Index failures raise as usual."""
    import tempfile
    from pathlib import Path

    from advisor.errors import NoViableStack

    out: dict[str, dict[str, str] | str] = {}
    with tempfile.TemporaryDirectory(prefix="advisor-image-list-") as tmp:
        for name in names:
            try:
                outcome = generate(
                    name,
                    opts=opts,
                    output=Path(tmp) / name,
                    knowledge_dir=knowledge_dir,
                    environ=environ,
                    cwd=cwd,
                    vendor=False,
                )
            except NoViableStack as exc:
                out[name] = "no stack: " + exc.message.splitlines()[0]
                continue
            out[name] = {str(p.name): str(p.version) for p in outcome.resolution.pins}
    return out


def _recipe_record(recipe: ImageRecipe) -> dict[str, Any]:
    """The recipe as JSON, with its source file but not the load date (stable bytes)."""
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(recipe)
    data["provenance"] = {"source": recipe.provenance.source}
    return data


def _cuda(target: RuntimeEnvironment) -> dict[str, str]:
    cuda = target.to_dict().get("cuda_version")
    return {"cuda_version": str(cuda)} if cuda else {}
