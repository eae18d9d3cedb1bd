"""The root ``advisor`` click group; command modules attach to it."""

from __future__ import annotations

import click

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stack-advisor", prog_name="advisor")
def cli() -> None:
    """Stack Advisor: the best stack that fits your target environment, and why."""
