"""The ``advisor`` command line (click). The only module that exits the process.

Exit codes (also in docs/cli.md): 0 success; 1 no consistent stack (a conflict, explained);
2 bad input or usage (file and line named); 3 the index, network or cache failed (URL named);
4 an internal error (a bug: please report it); 130 interrupted (Ctrl-C); 143 terminated
(SIGTERM). SIGTERM takes the path of Ctrl-C: the exception unwinds through the API, which
stops running sdist builds (process groups killed, folders removed) on its way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

import click

from advisor.cli import advise as _advise  # noqa: F401 - registers the commands
from advisor.cli import cache as _cache  # noqa: F401
from advisor.cli import check as _check  # noqa: F401
from advisor.cli import fix as _fix  # noqa: F401
from advisor.cli import image as _image  # noqa: F401
from advisor.cli import image_publish as _image_publish  # noqa: F401
from advisor.cli import knowledge as _knowledge  # noqa: F401
from advisor.cli import knowledge_update as _knowledge_update  # noqa: F401
from advisor.cli import lock as _lock  # noqa: F401
from advisor.cli import observe as _observe  # noqa: F401
from advisor.cli import observe_sweep as _observe_sweep  # noqa: F401
from advisor.cli import serve as _serve  # noqa: F401
from advisor.cli._app import cli
from advisor.cli._common import stderr
from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

__all__ = ["Terminated", "cli", "main"]

EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like ``KeyboardInterrupt`` for Ctrl-C (a
    ``BaseException``, so no ``except Exception`` swallows it on the way out)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (main thread only)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (an embedding): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into messages and exit codes."""
    try:
        with _sigterm_unwinds():
            _run(argv)
    except KeyboardInterrupt:  # one that came while another exception was being handled
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        click.echo("terminated", err=True)
        sys.exit(EXIT_TERMINATED)


def _run(argv: list[str] | None) -> None:
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        code = cli.main(args=args, prog_name="advisor", standalone_mode=False, obj={"argv": args})
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:  # click's form of KeyboardInterrupt
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code not in (0, 1) else exc.exit_code or 2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except AdvisorError as exc:
        from rich.text import Text

        stderr().print(Text("error: ", style="red") + Text(str(exc)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so plainly, without a traceback
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in Stack Advisor; set ADVISOR_DEBUG=1 to see the traceback.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


# --- knowledge ----------------------------------------------------------------------------


if __name__ == "__main__":
    main()
