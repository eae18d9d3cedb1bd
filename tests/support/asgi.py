"""Serve an ASGI app for real on 127.0.0.1 (test support): uvicorn in a thread, a free port.

``serve_in_thread(app)`` binds a socket on a free port of 127.0.0.1, runs uvicorn's server
on it in a daemon thread (uvicorn leaves signals alone off the main thread), waits until it
accepts requests, yields its base URL, and on exit asks it to stop and waits for it (the
app's shutdown runs, so an app that owns a store closes it).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["serve_in_thread"]

_START_TIMEOUT = 30.0


@contextlib.contextmanager
def serve_in_thread(app: Any, *, log_level: str = "warning") -> Iterator[str]:
    """``app`` served at the yielded ``http://127.0.0.1:PORT`` until the block ends."""
    # IPPROTO_TCP named, as the runner does: asyncio sets TCP_NODELAY only then
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the server did not start: {failure or 'timeout'}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()
        if failure:
            raise RuntimeError(f"the server failed: {failure[0]!r}") from failure[0]
