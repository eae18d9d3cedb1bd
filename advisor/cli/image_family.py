"""``advisor image generate --all``: every recipe's context, one family, its divergences."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from advisor.cli._common import stderr
from advisor.cli._progress import progress_events

if TYPE_CHECKING:
    from advisor.api import ImageOptions, ResolveOptions

__all__ = ["generate_all"]


def generate_all(*, opts: ResolveOptions, image: ImageOptions, as_json: bool, quiet: bool) -> None:
    """Generate every recipe into ``image.output`` and report; exits 1 when a recipe has no
    stack or a divergence has no reason."""
    from rich.markup import escape

    from advisor.api import generate_images

    with progress_events(quiet=quiet) as events:
        family = generate_images(opts=opts, image=image, events=events)
    if as_json:
        payload = json.loads((family.folder / "family.json").read_text(encoding="utf-8"))
        payload["warnings"] = {i.recipe.name: list(i.warnings) for i in family.images}
        click.echo(json.dumps(payload, indent=2))
    elif not quiet:
        console = stderr()
        for made in family.images:
            for w in made.warnings:
                console.print(f"[yellow]warning:[/] {escape(made.recipe.name)}: {escape(w)}")
            t = made.target
            console.print(
                f"{escape(made.recipe.name)}: {len(made.resolution.pins)} packages for "
                f"{t.implementation}{t.python_version} {t.platform} → {escape(str(made.folder))}"
            )
        for name, why in sorted(family.failures.items()):
            console.print(f"[red]{escape(name)}: no stack[/]: {escape(why)}")
        for d in family.divergences:
            for recipe, reason in sorted(d.reasons.items()):
                mark = "[red]unexplained[/]" if recipe in d.unexplained else "diverges"
                console.print(
                    f"{escape(d.package)} {escape(d.versions[recipe])} in {escape(recipe)}"
                    f" ({mark}; family {escape(d.version)}): {escape(reason)}"
                )
        if not family.divergences:
            console.print("every shared package has one version across the images")
    if not family.ok:
        raise SystemExit(1)
