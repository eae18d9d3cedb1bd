"""``advisor image list``, ``generate`` and ``build``: curated images, their build contexts
and the builds themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._app import cli
from advisor.cli._common import (
    knowledge_store_option,
    pop_value,
    resolve_options,
    resolve_opts,
    setup_logging,
    stderr,
)
from advisor.cli._progress import progress_events

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.api.building import BuildObservation, BuildTool
    from advisor.api.building import Progress as BuildProgress
    from advisor.api.imaging import ImageListing

__all__ = ["image"]


@cli.group()
def image() -> None:
    """Curated container images: recipes, build contexts, builds."""


_KNOWLEDGE_DIR = click.option(
    "--knowledge-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Knowledge folder holding images/*.toml (default: the bundled knowledge/).",
)


@image.command("list")
@_KNOWLEDGE_DIR
@knowledge_store_option
@click.option(
    "--resolve",
    is_flag=True,
    help="Also resolve each recipe's default requirements for its base and show the pins.",
)
@click.option("-i", "--index-url", metavar="URL", help="With --resolve: the index to use.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def image_list(
    knowledge_dir: Path | None,
    knowledge_url: str | None,
    resolve: bool,
    index_url: str | None,
    as_json: bool,
) -> None:
    """Show the recipes: base image, the target each resolves for, its default
    requirements, the last recorded build of each, and with --resolve the stack each
    resolves to today."""
    from advisor.api import ResolveOptions, list_images

    listed = list_images(
        knowledge_dir=knowledge_dir,
        store_url=knowledge_url,
        resolve=ResolveOptions(index_url=index_url) if resolve else None,
    )
    if as_json:
        click.echo(json.dumps([_row(item, resolve=resolve) for item in listed], indent=2))
        return
    for item in listed:
        r = item.recipe
        target = f"{r.implementation}{r.python} {r.platform}"
        if r.cuda:
            target += f" cuda {r.cuda}"
        click.echo(f"{r.name}\t{_base(item)}\t{target}")
        if r.summary:
            click.echo(f"    {r.summary}")
        click.echo(f"    requirements: {', '.join(r.requirements) or 'none (Python only)'}")
        if resolve:
            click.echo(f"    resolves to: {_pins_text(item.resolves_to)}")
        last = item.last_build
        if last:
            why = f" ({last.failure_class})" if last.failure_class else ""
            date, tool = last.provenance.date, _tool(last)
            click.echo(f"    last build: {last.outcome}{why}, {date}, {tool}")
            for reference in last.pushed:
                click.echo(f"    pushed: {reference}")


def _base(item: ImageListing) -> str:
    """The recipe's base image, with its digest when the recipe pins one."""
    r = item.recipe
    return r.base_image + (f"@{r.base_digest}" if r.base_digest else "")


def _tool(obs: BuildObservation) -> str:
    """The tool that built (or pushed) the image, from the observation's source."""
    return obs.provenance.source.removeprefix("image-build:").removeprefix("image-push:")


def _row(item: ImageListing, *, resolve: bool) -> dict[str, object]:
    """One recipe of ``image list`` as JSON (``--json``)."""
    r = item.recipe
    return {
        "name": r.name,
        "base": _base(item),
        "python": r.python,
        "implementation": r.implementation,
        "platform": r.platform,
        "cuda": r.cuda,
        "requirements": list(r.requirements),
        "summary": r.summary,
        "last-build": _build_summary(item.last_build),
        **({"resolves-to": item.resolves_to} if resolve else {}),
    }


def _pins_text(pins: Mapping[str, str] | str | None) -> str:
    if isinstance(pins, str):
        return pins
    if not pins:
        return "nothing to install"
    shown = ", ".join(f"{name} {version}" for name, version in sorted(pins.items())[:12])
    more = len(pins) - 12
    return shown + (f" and {more} more" if more > 0 else "") + f" ({len(pins)} packages)"


def _build_summary(obs: BuildObservation | None) -> dict[str, object] | None:
    if obs is None:
        return None
    return {
        "outcome": obs.outcome,
        "failure-class": obs.failure_class,
        "date": obs.provenance.date,
        "tool": _tool(obs),
        "duration": obs.duration,
        "stack-digest": obs.stack_digest,
        "pushed": list(obs.pushed),
    }


@image.command("generate")
@click.option("--recipe", "recipe", metavar="NAME", help="The image recipe.")
@click.option(
    "--all",
    "all_recipes",
    is_flag=True,
    help="Every recipe, resolved together into OUTPUT/NAME/: shared packages get one version "
    "where each base allows it; the rest is reported with its reason.",
)
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The build context folder to write (created if missing); with --all, their parent.",
)
@_KNOWLEDGE_DIR
@click.option(
    "--wheels/--no-wheels",
    "vendor",
    default=True,
    show_default=True,
    help="Download the locked files into the context's wheels/, so the build needs no index.",
)
@resolve_options
def image_generate(
    recipe: str | None, all_recipes: bool, inputs: tuple[Path, ...], vendor: bool, **kw: object
) -> None:
    """Write a build context for RECIPE: Containerfile, lock, constraints, SBOM, image.json.

    INPUTS (requirements files or pyproject.toml) default to the recipe's requirements. The
    stack is resolved for the recipe's base image, not for this machine. With --all, every
    recipe is written (exit 1 when one has no stack or a version differs unexplained).
    """
    from advisor.api import ImageOptions
    from advisor.api.imaging import generate

    if bool(recipe) == all_recipes:
        raise click.UsageError("name one --recipe, or --all")
    if all_recipes and inputs:
        raise click.UsageError("--all generates each recipe's own requirements: no INPUTS")

    as_json = bool(pop_value(kw, "as_json", bool))
    verbose, quiet = pop_value(kw, "verbose", int) or 0, bool(pop_value(kw, "quiet", bool))
    setup_logging(verbose, quiet)
    output = pop_value(kw, "output", Path)
    assert output is not None  # a required option
    knowledge_dir = pop_value(kw, "knowledge_dir", Path)
    for name in ("python", "platform", "implementation", "cuda"):
        if kw.get(name):
            raise click.UsageError(f"--{name} is the recipe's: the base image decides it")
    if kw.get("envs"):
        raise click.UsageError("--env is the recipe's: the base image decides the target")
    opts = resolve_opts(kw)
    written = ImageOptions(output=output, knowledge_dir=knowledge_dir, vendor=vendor)
    if all_recipes:
        from advisor.cli.image_family import generate_all

        generate_all(opts=opts, image=written, as_json=as_json, quiet=quiet)
        return
    assert recipe is not None
    with progress_events(quiet=quiet) as events:
        outcome = generate(recipe, inputs, opts=opts, image=written, events=events)
    if as_json:
        payload = {
            "folder": str(outcome.folder),
            "files": [p.name for p in outcome.files],
            "recipe": outcome.recipe.name,
            "lock-digest": outcome.lock_digest,
            "packages": {str(p.name): str(p.version) for p in outcome.resolution.pins},
            "wheels": list(outcome.wheels),
            "env-advice": {k: v for k, (v, _) in sorted(outcome.env_advice.items())},
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


def _build_arg(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint="--build-arg")
    return key, val


@image.command("build")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--tool",
    type=click.Choice(["buildah", "podman", "docker"]),
    help="The build tool (default: the first of buildah, podman, docker that works here).",
)
@click.option("--tag", "-t", metavar="NAME[:TAG]", help="Image name (default: by recipe and lock).")
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="A build argument (repeatable), e.g. BASE_IMAGE=a-local-or-mirrored-base.",
)
@click.option(
    "--timeout", type=float, default=3600.0, show_default=True, help="Seconds before giving up."
)
@knowledge_store_option
@click.option(
    "--push",
    "push_to",
    metavar="REGISTRY/NAME[:TAG]",
    help="After a successful build, push the image there (as 'advisor image push').",
)
@click.option(
    "--tls-verify/--no-tls-verify",
    "tls_verify",
    default=None,
    help="With --push: verify the registry's TLS certificate (default: yes, unless "
    "registries.conf marks the registry insecure).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No build log, only the outcome.")
def image_build(
    folder: Path,
    tool: str | None,
    tag: str | None,
    build_args: tuple[str, ...],
    timeout: float,
    knowledge_url: str | None,
    push_to: str | None,
    tls_verify: bool | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Build the context FOLDER (from 'advisor image generate') and record the outcome.

    The build's log streams to stderr with the step reached; the outcome (ok or failed, the
    duration, the failure class read from the log) is stored as build observations in the
    knowledge store, so later advice knows. With --push, a build that passed is pushed
    (its digest recorded). Exits 1 when the build or the push fails.
    """
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from advisor.api import BuildOptions, PushOptions
    from advisor.api.building import build_image

    args = tuple(_build_arg(v) for v in build_args)
    console = stderr()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=quiet or as_json,
    )
    task = bar.add_task("building", total=None)

    def on_start(chosen: BuildTool, image_tag: str) -> None:
        if not (quiet or as_json):
            console.print(f"building {escape(image_tag)} with {chosen.name}")
        bar.update(task, description=f"{chosen.name}: building {image_tag}")

    def on_line(line: str, step: BuildProgress | None) -> None:
        if step is not None:
            stage = f"stage {step.stage}/{step.stages} " if step.stage else ""
            bar.update(
                task,
                completed=step.step - 1,
                total=step.total,
                description=f"{stage}step {step.step}/{step.total}",
            )
        if not (quiet or as_json):
            bar.console.print(escape(line), style="dim" if step is None else "bold")

    def on_push_line(line: str, _step: BuildProgress | None) -> None:
        bar.update(task, description=f"pushing {push_to}")
        if not (quiet or as_json):
            bar.console.print(escape(line))

    opts = BuildOptions(
        tool=tool,
        tag=tag,
        build_args=args,
        timeout=timeout,
        on_line=on_line,
        on_start=on_start,
        push_to=push_to,  # a build that passed is pushed
        push=PushOptions(tls_verify=tls_verify, on_line=on_push_line),
    )
    with bar:
        outcome = build_image(folder, opts=opts, store_url=knowledge_url)
    run, pushed = outcome.run, outcome.push
    recorded = f"recorded {len(outcome.observations)} observations"
    if outcome.record_error:
        recorded = "not recorded"
        console.print(f"[yellow]warning:[/] not recorded: {escape(outcome.record_error)}")
    for warning in outcome.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if as_json:
        payload: dict[str, object] = {
            "folder": str(outcome.folder),
            "tool": outcome.tool.name,
            "tag": outcome.tag,
            "outcome": "ok" if outcome.ok else "failed",
            "failure-class": outcome.failure_class,
            "duration": round(run.duration, 3),
            "exit-code": run.returncode,
            "observations": 0 if outcome.record_error else len(outcome.observations),
            "record-error": outcome.record_error,
            "warnings": list(outcome.warnings),
        }
        if pushed is not None:
            from advisor.cli._push import push_payload

            payload["push"] = push_payload(pushed)
        click.echo(json.dumps(payload, indent=2))
    elif outcome.ok:
        console.print(
            f"[green]built[/] {escape(outcome.tag)} with {outcome.tool.name} in"
            f" {run.duration:.1f} s; {recorded}"
        )
    else:
        why = "timed out" if run.timed_out else f"exit code {run.returncode}"
        console.print(
            f"[red]build failed[/] ({outcome.failure_class}; {why}) after {run.duration:.1f} s;"
            f" {recorded}"
        )
        if quiet:
            for line in run.output.splitlines()[-15:]:
                console.print(escape(line), style="dim")
    if pushed is not None:
        from advisor.cli._push import report_push

        report_push(pushed, console, quiet=quiet or as_json)
    if not outcome.ok or (pushed is not None and not pushed.ok):
        raise SystemExit(1)
