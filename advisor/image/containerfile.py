"""Render a recipe and its lock as a multi-stage Containerfile (text, deterministic).

Sits after the lock writers: :mod:`advisor.image.context` writes the text this module
renders beside the lock it installs. Three stages share one base (``ARG BASE_IMAGE``, so a
build can swap in a local or mirrored base): ``base`` adds the recipe's system packages,
``builder`` creates a virtual environment and installs ``requirements.txt`` with
``--require-hashes --no-deps`` (and ``--only-binary :all:`` unless the lock has a pin that
must be built from source, in which case the recipe's build packages are added first), from
the context's ``wheels/`` folder when the locked files were vendored there (``--no-index``,
so the build needs no index), and the final stage copies the environment and runs as a
non-root user, with the recipe's environment variables and OCI labels. The install step
first has the base's ``python3`` print its own version and platform
(:data:`~advisor.image.base_facts.PROBE_COMMAND`), so the build records what the image
has, not what the recipe declares. The final stage also
carries the lock's constraints at ``/etc/pip/constraint.txt`` (``PIP_CONSTRAINT`` points
there, so a ``pip install`` in the image keeps the curated versions) and the lock with its
SBOM under ``/usr/share/stack-advisor/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.image.base_facts import PROBE_COMMAND
from advisor.image.context import CONSTRAINTS_PATH, IMAGE_DATA_DIR, SBOM_FILE

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from advisor.knowledge.schema import ImageRecipe

__all__ = ["VENV", "WHEELS", "ContainerfileSpec", "base_reference", "render_containerfile"]

#: Where the virtual environment lives in both stages (copied as is: same path, same base).
VENV = "/opt/venv"
#: The context's folder of vendored locked files (a pip find-links folder in the build).
WHEELS = "wheels"
_UID = 10001  # above the distributions' system and first-user ranges


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerfileSpec:
    """What the Containerfile needs beyond the recipe: ``needs_build`` (some pin has no wheel
    for the target, so ``--only-binary`` must go and the recipe's build packages come in),
    ``packages`` (how many pins the lock installs: none means no install step), ``wheels``
    (the locked files are vendored in the context's ``wheels/``), ``labels`` (ours, added
    after the recipe's) and ``env`` (variables the prescriptions advise, each with the rule
    that advises it; the recipe's own values win, being the more specific curation)."""

    needs_build: bool = False
    packages: int = 1
    wheels: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def base_reference(recipe: ImageRecipe) -> str:
    """The base image reference, pinned by digest when the recipe gives one."""
    if recipe.base_digest:
        return f"{recipe.base_image}@{recipe.base_digest}"
    return recipe.base_image


def _quote(value: str) -> str:
    """A double-quoted Containerfile word (``ENV``/``LABEL`` values)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _continued(head: str, items: list[str]) -> list[str]:
    """``head item1 \\`` / ``    item2`` …: one item per line, for readable diffs."""
    if not items:
        return []
    lines = [f"{head} {items[0]}"]
    lines.extend(f"    {item}" for item in items[1:])
    return [line + " \\" for line in lines[:-1]] + [lines[-1]]


def _apt_install(packages: Iterable[str], *comments: str) -> list[str]:
    """One ``RUN`` installing Debian ``packages`` (sorted, once each) without recommends and
    without leaving apt's lists in the layer, after ``comments``."""
    names = " ".join(sorted(set(packages)))
    return [
        *comments,
        "# hadolint ignore=DL3008",
        "RUN apt-get update \\",
        f"    && apt-get install -y --no-install-recommends {names} \\",
        "    && rm -rf /var/lib/apt/lists/*",
    ]


def _builder(recipe: ImageRecipe, spec: ContainerfileSpec) -> list[str]:
    """The builder stage after its ``FROM``: build packages when a pin must be built, then
    one ``RUN`` creating the venv and installing the lock (no install for an empty lock)."""
    out: list[str] = []
    if spec.needs_build and recipe.build_packages:
        out += _apt_install(
            recipe.build_packages,
            "# A pin has no wheel for this base: the builder compiles it (the final stage",
            "# gets only the venv, not these tools).",
        )
    probe = [
        "# The base's own Python and platform, printed for the build's record (in the install",
        "# step, so they are printed whenever the install runs; never failing the build).",
        f"RUN ({PROBE_COMMAND} || true) \\",
    ]
    if spec.packages <= 0:
        return [*out, *probe, f"    && python3 -m venv {VENV}"]
    out.append("COPY requirements.txt /tmp/requirements.txt")
    flags = ["--require-hashes", "--no-deps"]
    if spec.wheels:
        out.append(f"COPY {WHEELS}/ /tmp/{WHEELS}/")
        # a pin built from source still fetches its build requirements from the index
        index = [] if spec.needs_build else ["--no-index"]
        flags = [*index, "--find-links", f"/tmp/{WHEELS}", *flags]
    if not spec.needs_build:
        flags += ["--only-binary", ":all:"]
    out += [
        *probe,
        f"    && python3 -m venv {VENV} \\",
        f"    && {VENV}/bin/python -m pip install --no-cache-dir --disable-pip-version-check \\",
        f"        {' '.join(flags)} \\",
        "        -r /tmp/requirements.txt",
    ]
    return out


def render_containerfile(recipe: ImageRecipe, spec: ContainerfileSpec) -> str:
    """The Containerfile text for ``recipe``; the same inputs give the same bytes."""
    user = recipe.user
    out: list[str] = [
        f"# Generated by advisor image generate from the recipe {recipe.name!r}; do not edit.",
        "# The stack in requirements.txt was resolved for this base image's Python and",
        "# platform, not for the machine that generated it.",
        f"ARG BASE_IMAGE={base_reference(recipe)}",
        "",
        "FROM ${BASE_IMAGE} AS base",
    ]
    if recipe.system_packages:
        out += _apt_install(
            recipe.system_packages,
            "# System package versions come from the base image's distribution release; the",
            "# base (pinned by digest where the recipe gives one) is what makes them repeatable.",
        )
    out += ["", "FROM base AS builder", *_builder(recipe, spec)]
    out += [
        "",
        "FROM base",
        f"RUN useradd --no-log-init --create-home --uid {_UID} --user-group {user}",
        f"COPY --from=builder {VENV} {VENV}",
        # what a user of the image needs: the curated versions for any later pip install,
        # the lock the venv was installed from and its SBOM
        f"COPY constraints.txt {CONSTRAINTS_PATH}",
        f"COPY pylock.toml {SBOM_FILE} {IMAGE_DATA_DIR}/",
    ]
    advised = {k: v for k, v in spec.env.items() if k not in recipe.env}
    if advised:
        out.append("# Advised by the knowledge base's prescriptions:")
        out += [f"#   {k}: {rule}" for k, (_, rule) in sorted(advised.items())]
    env = {
        "VIRTUAL_ENV": VENV,
        "PIP_CONSTRAINT": CONSTRAINTS_PATH,
        "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        **{k: value for k, (value, _) in advised.items()},
        **recipe.env,
    }
    out += _continued("ENV", [f"{k}={_quote(v)}" for k, v in sorted(env.items())])
    labels = {**recipe.labels, **spec.labels}
    out += _continued("LABEL", [f"{k}={_quote(v)}" for k, v in sorted(labels.items())])
    out += [f"EXPOSE {port}" for port in sorted(set(recipe.ports))]
    out += [
        f"USER {_UID}:{_UID}",  # numeric: a host or runtime need not resolve the name
        f"WORKDIR /home/{user}",
    ]
    if recipe.entrypoint:
        out.append(f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}")
    if recipe.cmd:
        out.append(f"CMD {json.dumps(list(recipe.cmd))}")
    out.append("")
    return "\n".join(out)
