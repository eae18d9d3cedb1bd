"""Image build contexts: recipe → target environment → lock → Containerfile + context.

Part of the composition root (``advisor image generate`` calls only this). The stack is
resolved for the runtime environment the recipe's base image gives (its Python,
implementation, platform and CUDA), never for the machine running the advisor; the lock is
made the way :func:`advisor.api.locking.lock` makes it, then :mod:`advisor.image` renders the
Containerfile and writes the folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.api.locking import Prepared
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import Resolution

__all__ = ["ImageOutcome", "generate", "list_recipes", "recipe_target"]

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
) -> ImageOutcome:
    """Resolve ``inputs`` (default: the recipe's requirements, written to
    ``output/requirements.in``) for the recipe's base image and write a build context to
    ``output``: Containerfile, pylock.toml, requirements.txt, .containerignore, image.json.

    ``opts.recommendation`` other than ``latest`` runs the advice search and records its
    report in ``image.json``. Raises :class:`InputError` for an unknown recipe (listing the
    known ones) and :class:`~advisor.errors.NoViableStack` when the base's Python (or
    platform) cannot satisfy the requirements.
    """
    from advisor import __version__
    from advisor.api.context import target_table
    from advisor.api.locking import LockOptions, finish, prepare
    from advisor.environment import RuntimeEnvironment
    from advisor.image.containerfile import ContainerfileSpec, render_containerfile
    from advisor.image.context import BuildContext, write_context
    from advisor.image.recipes import find_recipe, load_recipes
    from advisor.knowledge.sources.folder import content_digest

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
            (output / "requirements.in").write_text(extra_inputs["requirements.in"], "utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        inputs = (output / "requirements.in",)
    if recipe.extra_index_urls:
        extra = tuple(dict.fromkeys((*opts.extra_index_urls, *recipe.extra_index_urls)))
        opts = dataclasses.replace(opts, extra_index_urls=extra)
    prep = prepare(
        inputs, opts=opts, out=LockOptions(output=output / "pylock.toml"), environ=environ, cwd=cwd
    )
    target = recipe_target(recipe, host=RuntimeEnvironment.detect())
    prep = dataclasses.replace(prep, targets=(target,), previous={})
    resolution, warnings, advice, tool = _resolve(prep, opts=opts, knowledge_dir=folder, now=now)

    def render(name: str, fmt: str) -> tuple[str, str]:
        out = LockOptions(output=output / name, format=fmt, dry_run=True, command=_COMMAND)
        done = finish(prep, resolution, opts=opts, out=out, warnings=warnings, tool=tool)
        return done.text, done.digest

    pylock, input_digest = render("pylock.toml", "pylock")
    requirements, _ = render("requirements.txt", "requirements")
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
    }
    spec = ContainerfileSpec(
        needs_build=any(p.needs_build for p in resolution.pins),
        labels={k: v for k, v in labels.items() if v},
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
    }
    if advice is not None:
        record["advice"] = advice
    files = write_context(
        output,
        BuildContext(
            containerfile=render_containerfile(recipe, spec),
            pylock=pylock,
            requirements=requirements,
            record=record,
            inputs=extra_inputs,
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
        warnings=warnings,
    )


def _resolve(
    prep: Prepared, *, opts: ResolveOptions, knowledge_dir: Path, now: datetime
) -> tuple[Resolution, tuple[str, ...], list[Any] | None, Mapping[str, Any] | None]:
    """``latest``: pip's choice for the target; otherwise the advice search, whose reports
    (one per target, JSON-ready) go into ``image.json``."""
    from advisor.api.locking import resolve_request

    if opts.recommendation == "latest":
        resolution, warnings, _ = resolve_request(
            prep.request,
            opts=opts,
            index=prep.index,
            pip=prep.pip,
            targets=prep.targets,
            environ=prep.environ,
            preferences={},
        )
        return resolution, warnings, None, None
    from advisor.api.advising import AdviseOptions, run_advice
    from advisor.report.json import advice_to_dict

    outcome = run_advice(
        prep, opts=opts, advise=AdviseOptions(knowledge_dirs=(knowledge_dir,)), now=now
    )
    advices = [advice_to_dict(a) for a in outcome.advices]
    return outcome.resolution, outcome.warnings, advices, outcome.tool


def _recipe_record(recipe: ImageRecipe) -> dict[str, Any]:
    """The recipe as JSON, with its source file but not the load date (stable bytes)."""
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(recipe)
    data["provenance"] = {"source": recipe.provenance.source}
    return data


def _cuda(target: RuntimeEnvironment) -> dict[str, str]:
    cuda = target.to_dict().get("cuda_version")
    return {"cuda_version": str(cuda)} if cuda else {}
