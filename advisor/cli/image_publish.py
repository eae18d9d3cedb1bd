"""``advisor image push`` and ``advisor image inspect``: publish a built image to a registry
and read an image's recipe, lock, advice and SBOM back (``image build --push`` reuses
:func:`report_push`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._common import knowledge_store_option, stderr
from advisor.cli._push import push_payload, report_push, tls_verify_option
from advisor.cli.image import image

if TYPE_CHECKING:
    from advisor.api.building import Progress as BuildProgress

__all__ = ["image_inspect", "image_push"]


@image.command("push")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("destination", metavar="REGISTRY/NAME[:TAG]")
@click.option(
    "--tool",
    type=click.Choice(["buildah", "podman", "skopeo"]),
    help="The tool that pushes (default: the one that built the image; skopeo for --archive).",
)
@click.option(
    "--archive",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Push this OCI archive (e.g. the pipeline's image.oci.tar) with skopeo instead.",
)
@tls_verify_option
@click.option(
    "--timeout", type=float, default=1800.0, show_default=True, help="Seconds before giving up."
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No push log, only the outcome.")
def image_push(
    folder: Path,
    destination: str,
    tool: str | None,
    archive: Path | None,
    tls_verify: bool | None,
    timeout: float,
    knowledge_url: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Push the image last built from FOLDER to DESTINATION and record its digest.

    The tool that built it pushes it (buildah or podman; skopeo for --archive), with its
    own credentials (its auth file: 'buildah login HOST') and TLS verification on, unless
    --no-tls-verify or registries.conf marks the registry insecure. The manifest digest
    goes to FOLDER/image.json and the knowledge store. Exits 1 when the push fails.
    """
    from rich.markup import escape

    from advisor.api import PushOptions, push_image

    console = stderr()

    def on_line(line: str, _step: BuildProgress | None) -> None:
        if not (quiet or as_json):
            console.print(escape(line), style="dim")

    opts = PushOptions(
        tool=tool, archive=archive, tls_verify=tls_verify, timeout=timeout, on_line=on_line
    )
    outcome = push_image(folder, destination, opts=opts, store_url=knowledge_url)
    if as_json:
        click.echo(json.dumps(push_payload(outcome), indent=2))
    report_push(outcome, console, quiet=quiet or as_json)
    if not outcome.ok:
        raise SystemExit(1)


@image.command("inspect")
@click.argument("reference", metavar="REF")
@tls_verify_option
@click.option("--sbom", "show_sbom", is_flag=True, help="Print the image's SBOM (CycloneDX JSON).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
def image_inspect(reference: str, tls_verify: bool | None, show_sbom: bool, as_json: bool) -> None:
    """Show what the image REF was made from: recipe, lock digest (checked against the lock
    inside), advice summary, pins and SBOM, read from its labels and files through buildah.

    REF is a local image, a registry reference (pulled when missing) or oci-archive:PATH.
    """
    from rich.markup import escape

    from advisor.api import inspect_image

    console = stderr()
    # a registry reference may be pulled first: say what is going on while it takes
    with console.status(f"reading {escape(reference)} with buildah"):
        found = inspect_image(reference, tls_verify=tls_verify)
    if show_sbom:
        if found.sbom_text is None:
            raise click.ClickException(f"{found.reference} carries no SBOM")
        click.echo(found.sbom_text, nl=False)
        return
    payload = {
        "reference": found.reference,
        "image-id": found.image_id,
        "digest": found.digest,
        "recipe": found.recipe,
        "base-image": found.base_image,
        "recommendation": found.recommendation,
        "lock-digest": found.lock_digest,
        "lock-verified": found.lock_verified,
        "advice": found.advice,
        "pins": dict(found.pins),
        "files": dict(found.paths),
        "sbom": None
        if found.sbom is None
        else {
            "format": "CycloneDX",
            "spec-version": found.sbom.spec_version,
            "components": len(found.sbom.components),
        },
        "problems": list(found.problems),
    }
    if as_json:
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"image:          {found.reference}")
    if found.digest:
        click.echo(f"digest:         {found.digest}")
    click.echo(f"recipe:         {found.recipe} (base {found.base_image})")
    verified = "verified" if found.lock_verified else "NOT verified"
    click.echo(f"lock digest:    {found.lock_digest} ({verified} against the lock inside)")
    click.echo(f"recommendation: {found.recommendation}")
    if found.advice:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(found.advice.items()))
        click.echo(f"advice:         {summary}")
    pins = ", ".join(f"{n} {v}" for n, v in sorted(found.pins.items())) or "none"
    click.echo(f"pins:           {pins}")
    if found.sbom is not None:
        click.echo(
            f"sbom:           CycloneDX {found.sbom.spec_version},"
            f" {len(found.sbom.components)} components, at {found.paths.get('sbom')}"
        )
    for problem in found.problems:
        click.echo(f"problem:        {problem}")
