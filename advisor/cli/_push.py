"""What ``advisor image push`` and ``image build --push`` share: the TLS option and how a
push's outcome is shown (text on stderr, or JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.api import PushOutcome

__all__ = ["push_payload", "report_push", "tls_verify_option"]

#: ``--tls-verify/--no-tls-verify``: unset, the tool's registries.conf decides (verify,
#: unless the registry is marked insecure there).
tls_verify_option = click.option(
    "--tls-verify/--no-tls-verify",
    "tls_verify",
    default=None,
    help="Verify the registry's TLS certificate (default: yes, unless registries.conf marks "
    "the registry insecure).",
)


def push_payload(outcome: PushOutcome) -> dict[str, object]:
    """The push as JSON (``--json``)."""
    return {
        "tool": outcome.tool,
        "source": outcome.source,
        "destination": outcome.destination,
        "outcome": "ok" if outcome.ok else "failed",
        "digest": outcome.digest,
        "reference": outcome.reference,
        "failure-class": outcome.failure_class,
        "hint": outcome.hint,
        "duration": round(outcome.run.duration, 3),
        "recorded": outcome.ok and not outcome.record_error,
        "record-error": outcome.record_error,
    }


def report_push(outcome: PushOutcome, console: Console, *, quiet: bool) -> None:
    """The push's outcome on stderr: the digest reference, or why it failed and the tool's
    last lines."""
    from rich.markup import escape

    if outcome.record_error:
        console.print(f"[yellow]warning:[/] not recorded: {escape(outcome.record_error)}")
    if outcome.ok:
        console.print(
            f"[green]pushed[/] {escape(outcome.destination)} with {outcome.tool}:"
            f" {escape(str(outcome.reference))}"
        )
        return
    run = outcome.run
    why = "timed out" if run.timed_out else f"exit code {run.returncode}"
    console.print(
        f"[red]push failed[/] ({outcome.failure_class}; {why}): {escape(outcome.destination)}"
    )
    if outcome.hint:
        console.print(f"hint: {escape(outcome.hint)}")
    if quiet:
        for line in run.output.splitlines()[-10:]:
            console.print(escape(line), style="dim")
