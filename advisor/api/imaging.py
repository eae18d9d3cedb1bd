"""Image build contexts: recipe → target environment → lock → Containerfile + context.

Part of the composition root (``advisor image generate`` calls only this). The stack is
resolved for the runtime environment the recipe's base image gives (its Python,
implementation, platform and CUDA), never for the machine running the advisor; the lock is
made the way :func:`advisor.api.locking.lock` makes it, then :mod:`advisor.image` renders the
Containerfile and writes the folder. The locked files are vendored into the context's
``wheels/`` (downloaded once, hash-checked), so the build needs no index; the prescriptions
that apply to the stack on that target advise the image's environment variables.
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
    from advisor.api.locking import Prepared
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import DistFile, Pin, Resolution

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
    from advisor.api.advising import bundled_knowledge_dir

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
    from advisor.api.context import target_table
    from advisor.api.locking import LockOptions, finish, prepare
    from advisor.environment import RuntimeEnvironment
    from advisor.image.containerfile import WHEELS, ContainerfileSpec, render_containerfile
    from advisor.image.context import BuildContext, render_constraints, write_context
    from advisor.image.recipes import find_recipe, load_recipes
    from advisor.knowledge.sources.folder import content_digest
    from advisor.lockfile.write import write_atomic

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    folder = _knowledge_folder(knowledge_dir)
    recipe = find_recipe(load_recipes(folder, date=now.date().isoformat()), recipe_name)
    extra_inputs: dict[str, str] = {}
    if not inputs:
        text = "".join(f"{r}\n" for r in recipe.requirements)
        extra_inputs["requirements.in"] = f"# the default requirements of {recipe.name}\n{text}"
        try:
            output.mkdir(parents=True, exist_ok=True)
            write_atomic(output / "requirements.in", extra_inputs["requirements.in"])
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        inputs = (output / "requirements.in",)
    recipe_indexes, index_warnings = _recipe_indexes(recipe, environ)
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
    resolution, warnings, advice, tool = _resolve(
        prep, opts=opts, knowledge_dir=folder, now=now, events=events
    )
    warnings = (*index_warnings, *warnings)

    def render(name: str, fmt: LockFormat) -> tuple[str, str]:
        out = LockOptions(
            output=output / name,
            format=fmt,
            dry_run=True,
            command=_COMMAND,
            index_lines=not vendor,
        )
        done = finish(prep, resolution, opts=opts, out=out, warnings=warnings, tool=tool)
        return done.text, done.digest

    pylock, input_digest = render("pylock.toml", LockFormat.PYLOCK)
    requirements, _ = render("requirements.txt", LockFormat.REQUIREMENTS)
    lock_digest = "sha256:" + hashlib.sha256(pylock.encode("utf-8")).hexdigest()
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
        "io.stack-advisor.lock-digest": lock_digest,
        "io.stack-advisor.input-digest": input_digest,
        "io.stack-advisor.version": __version__,
        **_content_labels(advice),
    }
    env_advice, advice_warnings = _env_advice(folder, resolution, target, opts, now)
    warnings = (*warnings, *advice_warnings)
    wheels: tuple[str, ...] = ()
    if vendor:
        wheels = _vendor(prep, opts, _vendored_files(resolution.pins), output / WHEELS, events)
    else:
        public = prep.index.public()
        local = [u for u in (*public["indexes"], *public["find-links"]) if u.startswith("file:")]
        warnings = (
            *warnings,
            *(f"the build cannot reach {u} (a local index): use --wheels" for u in local),
        )
    spec = ContainerfileSpec(
        needs_build=any(p.needs_build for p in resolution.pins),
        packages=len(resolution.pins),
        wheels=vendor,
        labels={k: v for k, v in labels.items() if v},
        env=env_advice,
    )
    record: dict[str, Any] = {
        "advisor-version": __version__,
        "recipe": _recipe_record(recipe),
        "environment": {**target_table(target), **_cuda(target)},
        "recommendation": opts.recommendation,
        "knowledge-digest": content_digest(folder),
        "lock-digest": lock_digest,
        "input-digest": input_digest,
        "pins": {str(p.name): str(p.version) for p in resolution.pins},
        "wheels": list(wheels),
        "env-advice": {k: {"value": v, "rule": r} for k, (v, r) in sorted(env_advice.items())},
    }
    if advice is not None:
        record["advice"] = advice
    pins = {str(p.name): str(p.version) for p in resolution.pins}
    files = write_context(
        output,
        BuildContext(
            containerfile=render_containerfile(recipe, spec),
            pylock=pylock,
            requirements=requirements,
            record=record,
            inputs=extra_inputs,
            constraints=render_constraints(pins, recipe=recipe.name),
            sbom=_sbom(pylock, recipe, opts, lock_digest),
        ),
    )
    return ImageOutcome(
        folder=output,
        files=files,
        recipe=recipe,
        target=target,
        resolution=resolution,
        lock_digest=lock_digest,
        input_digest=input_digest,
        wheels=wheels,
        env_advice=env_advice,
        warnings=warnings,
    )


def _preferred(preferences: Mapping[str, str] | None) -> dict[NormalizedName, Version]:
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    return {canonicalize_name(n): Version(v) for n, v in (preferences or {}).items()}


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


def _vendored_files(pins: Sequence[Pin]) -> list[DistFile]:
    """The locked files the build installs from ``wheels/``: every wheel of each pin (all
    fit the target), and the sdist of a pin that must be built. Pins given as a direct URL
    are fetched from it at build time."""
    from advisor.models import DistKind

    files = []
    for pin in pins:
        if pin.direct_url:
            continue
        for dist in pin.files:
            parsed = dist.parsed
            if parsed is None:
                continue
            if parsed.kind is DistKind.WHEEL or pin.needs_build:
                files.append(dist)
    return files


def _vendor(
    prep: Prepared,
    opts: ResolveOptions,
    files: Sequence[DistFile],
    folder: Path,
    events: ProgressEvents,
) -> tuple[str, ...]:
    """Download ``files`` into ``folder`` (hash-checked; a file already there with the right
    sha256 is kept) and remove any other file there; returns the names, sorted."""
    from concurrent.futures import ThreadPoolExecutor

    from advisor.api.context import open_session
    from advisor.image.context import prune_folder, sha256_of

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {folder}: {exc.strerror or exc}") from exc
    wanted = {f.filename: f for f in files}
    missing = [
        f for name, f in sorted(wanted.items())
        if sha256_of(folder / name) != f.hash_map.get("sha256")
    ]  # fmt: skip
    if missing:
        session = open_session(opts, prep.index, prep.pip, prep.environ, events=events)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for _ in pool.map(
                    lambda f: session.fetcher.download(
                        f.url, folder / f.filename, sha256=f.hash_map.get("sha256")
                    ),
                    missing,
                ):
                    pass
        finally:
            session.close()
    prune_folder(folder, keep=set(wanted))
    return tuple(sorted(wanted))


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


def _resolve(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    knowledge_dir: Path,
    now: datetime,
    events: ProgressEvents,
) -> tuple[Resolution, tuple[str, ...], list[Any] | None, Mapping[str, Any] | None]:
    """``latest``: pip's choice for the target; otherwise the advice search, whose reports
    (one per target, JSON-ready) go into ``image.json``."""
    from advisor.api.locking import resolve_request

    if opts.recommendation == "latest":
        resolution, warnings, _ = resolve_request(
            prep.resolvable,
            opts=opts,
            index=prep.index,
            pip=prep.pip,
            targets=prep.targets,
            environ=prep.environ,
            preferences=prep.previous,
            events=events,
        )
        return resolution, warnings, None, None
    from advisor.api.advising import AdviseOptions, run_advice
    from advisor.report.json import advice_to_dict

    outcome = run_advice(
        prep,
        opts=opts,
        advise=AdviseOptions(knowledge_dirs=(knowledge_dir,)),
        now=now,
        events=events,
    )
    advices = [advice_to_dict(a) for a in outcome.advices]
    return outcome.resolution, outcome.warnings, advices, outcome.tool


def _content_labels(advice: Sequence[Any] | None) -> dict[str, str]:
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


def _recipe_record(recipe: ImageRecipe) -> dict[str, Any]:
    """The recipe as JSON, with its source file but not the load date (stable bytes)."""
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(recipe)
    data["provenance"] = {"source": recipe.provenance.source}
    return data


def _cuda(target: RuntimeEnvironment) -> dict[str, str]:
    cuda = target.to_dict().get("cuda_version")
    return {"cuda_version": str(cuda)} if cuda else {}
