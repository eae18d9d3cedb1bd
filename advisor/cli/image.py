"""``advisor image list`` and ``advisor image generate``: curated images as build contexts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from advisor.cli._app import cli
from advisor.cli._common import resolve_options, resolve_opts, setup_logging, stderr

__all__ = ["image"]


@cli.group()
def image() -> None:
    """Curated container images: recipes, build contexts."""


_KNOWLEDGE_DIR = click.option(
    "--knowledge-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Knowledge folder holding images/*.toml (default: the bundled knowledge/).",
)


@image.command("list")
@_KNOWLEDGE_DIR
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def image_list(knowledge_dir: Path | None, as_json: bool) -> None:
    """Show the recipes, their base image and the target each resolves for."""
    from advisor.api.imaging import list_recipes

    recipes = list_recipes(knowledge_dir=knowledge_dir)
    rows = [
        {
            "name": r.name,
            "base": r.base_image + (f"@{r.base_digest}" if r.base_digest else ""),
            "python": r.python,
            "implementation": r.implementation,
            "platform": r.platform,
            "cuda": r.cuda,
            "requirements": list(r.requirements),
            "summary": r.summary,
        }
        for r in recipes
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        target = f"{row['implementation']}{row['python']} {row['platform']}"
        if row["cuda"]:
            target += f" cuda {row['cuda']}"
        click.echo(f"{row['name']}\t{row['base']}\t{target}")
        if row["summary"]:
            click.echo(f"    {row['summary']}")


@image.command("generate")
@click.option("--recipe", "recipe", required=True, metavar="NAME", help="The image recipe.")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The build context folder to write (created if missing).",
)
@_KNOWLEDGE_DIR
@resolve_options
def image_generate(recipe: str, inputs: tuple[Path, ...], **kw: Any) -> None:
    """Write a build context for RECIPE: Containerfile, lock, image.json.

    INPUTS (requirements files or pyproject.toml) default to the recipe's requirements. The
    stack is resolved for the recipe's base image, not for this machine.
    """
    from advisor.api.imaging import generate

    as_json = kw.pop("as_json")
    verbose, quiet = kw.pop("verbose"), kw.pop("quiet")
    setup_logging(verbose, quiet)
    output: Path = kw.pop("output")
    knowledge_dir: Path | None = kw.pop("knowledge_dir")
    for name in ("python", "platform", "implementation"):
        if kw.get(name):
            raise click.UsageError(f"--{name} is the recipe's: the base image decides it")
    if kw.get("envs"):
        raise click.UsageError("--env is the recipe's: the base image decides the target")
    opts = resolve_opts(kw)
    outcome = generate(recipe, inputs, opts=opts, output=output, knowledge_dir=knowledge_dir)
    if as_json:
        payload = {
            "folder": str(outcome.folder),
            "files": [p.name for p in outcome.files],
            "recipe": outcome.recipe.name,
            "lock-digest": outcome.lock_digest,
            "packages": {str(p.name): str(p.version) for p in outcome.resolution.pins},
            "warnings": list(outcome.warnings),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    if quiet:
        return
    from rich.markup import escape

    console = stderr()
    for w in outcome.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    t = outcome.target
    console.print(
        f"{escape(outcome.recipe.name)}: {len(outcome.resolution.pins)} packages for "
        f"{t.implementation}{t.python_version} {t.platform} → {escape(str(output))}"
    )
