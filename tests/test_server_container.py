"""The server's own container recipe, ``deploy/server/Containerfile``: read, then built for real.

The fast test reads the recipe's instructions (continuation lines joined, JSON-form argv
parsed) and holds them against the code: the entrypoint is a real ``advisor`` command with
options it has, the health check probes the app's health route, the image runs as a
non-root user, the store comes from ``ADVISOR_KNOWLEDGE``, and the base is a short name
overridable with ``BASE_IMAGE``. The slow test builds it with buildah on the base image the
container tests make with mmdebstrap (a wheelhouse of this checkout built with pip
beforehand, as the docs say), then runs the image's entrypoint in a container: the server
answers ``/v1/health`` as the non-root user. Skipped without buildah (failed under CI=true).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement

from advisor.cli import cli
from advisor.server.app import create_app
from advisor.server.settings import ServerSettings
from tests.container_conftest import skip_or_fail
from tests.support.containers import buildah, run_in_image

if TYPE_CHECKING:
    from tests.support.containers import LocalBaseImage

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "deploy" / "server" / "Containerfile"


def _instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, comments dropped, continuations joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        found.append((word.upper(), rest.strip()))
    assert not pending, "the recipe ends in a continuation"
    return found


def _one(instructions: list[tuple[str, str]], word: str) -> str:
    (value,) = [rest for name, rest in instructions if name == word]
    return value


def test_the_recipe_runs_a_real_command_as_a_user_over_the_configured_store(
    tmp_path: Path,
) -> None:
    steps = _instructions(RECIPE.read_text(encoding="utf-8"))
    entrypoint = json.loads(_one(steps, "ENTRYPOINT"))
    assert entrypoint[:2] == ["advisor", "serve"]
    serve = cli.commands["serve"]
    known = {opt for param in serve.params for opt in param.opts}
    options = [a for a in entrypoint[2:] if a.startswith("--")]
    assert set(options) <= known, set(options) - known
    with serve.make_context("serve", entrypoint[2:]) as ctx:  # the values parse too
        assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8000
    assert f"EXPOSE {ctx.params['port']}" in {f"{n} {r}" for n, r in steps}

    user = _one(steps, "USER").split(":")[0]
    assert user not in ("root", "0") and int(user) > 0
    env = shlex.split(_one(steps, "ENV"))
    assert any(e.startswith("ADVISOR_KNOWLEDGE=sqlite:///") for e in env)
    assert "--knowledge" not in entrypoint  # a team sets ADVISOR_KNOWLEDGE, no rebuild

    arg, base = _one(steps, "ARG").split("=", 1)
    assert arg == "BASE_IMAGE" and "/" not in base.split(":")[0]  # a short name, no host
    assert _one(steps, "FROM") == "${BASE_IMAGE}"
    health = _one(steps, "HEALTHCHECK")
    probe = json.loads(health.split(" CMD ", 1)[1])
    assert f"127.0.0.1:{ctx.params['port']}/v1/health" in probe[-1]
    app = create_app(ServerSettings(store_url=f"sqlite:///{tmp_path / 'k.db'}"))
    try:
        assert "/v1/health" in {getattr(route, "path", None) for route in app.routes}
    finally:
        app.state.advisor.store.close()


def _installed_extras(text: str) -> list[str]:
    """The extras of the ``stack-advisor[...]`` the recipe's RUN installs."""
    (run,) = [rest for name, rest in _instructions(text) if name == "RUN"]
    (extras,) = re.findall(r"stack-advisor\[([a-z,]+)\]", run)
    return extras.split(",")


def test_the_recipe_installs_what_every_serve_option_imports() -> None:
    """The image serves ``--dask-scheduler`` too: the extras installed bring every library
    ``advisor serve`` may load (the ASGI app and server, PostgreSQL's pool, Dask's client),
    and the docs build the wheelhouse with the same extras."""
    import tomllib

    extras = _installed_extras(RECIPE.read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    optional = project["project"]["optional-dependencies"]
    brought = {Requirement(r).name for extra in extras for r in optional[extra]}
    needed = {"starlette", "uvicorn", "psycopg", "psycopg-pool", "distributed"}
    assert needed <= brought, needed - brought
    docs = (REPO / "docs" / "server.md").read_text(encoding="utf-8")
    assert f"pip wheel --wheel-dir deploy/server/wheels '.[{','.join(extras)}]'" in docs


# -- a real build ------------------------------------------------------------------------------

# run in the image: the entrypoint (on any free port), then its health route, as the image's
# user; prints the uid and the answer's status
_PROBE = """
import re, subprocess, sys, time, urllib.request, os
argv = sys.argv[1:] + ["--port", "0"]  # the access log (stdout) is not ours to print
proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
line = proc.stderr.readline()
url = re.search(r"(http://\\S+) over ", line).group(1)
for _ in range(120):
    try:
        status = urllib.request.urlopen(url + "/v1/health", timeout=5).status
        break
    except OSError:
        time.sleep(0.5)
else:
    status = None
proc.terminate()
proc.wait(timeout=30)
print(os.getuid(), status, line.strip())
"""


@pytest.mark.slow
def test_the_recipe_builds_and_serves(
    local_base_image: LocalBaseImage, buildah_env: dict[str, str], tmp_path: Path
) -> None:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if local_base_image.python != python:
        skip_or_fail(f"the local base has Python {local_base_image.python}, the wheels {python}")
    context = tmp_path / "context"
    context.mkdir()
    wheels = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--wheel-dir",
            str(context / "wheels"),
            f"{REPO}[{','.join(_installed_extras(RECIPE.read_text(encoding='utf-8')))}]",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if wheels.returncode != 0:
        skip_or_fail(
            "cannot build the wheelhouse (no package index?)", detail=wheels.stderr[-2000:]
        )
    reference = "localhost/advisor-server-test:latest"
    buildah(
        "build",
        "--pull=never",
        "--layers=false",
        "--format",
        "docker",
        "--build-arg",
        f"BASE_IMAGE={local_base_image.reference}",
        "-f",
        str(RECIPE),
        "-t",
        reference,
        str(context),
        env=buildah_env,
    )
    config = json.loads(buildah("inspect", "--type", "image", reference, env=buildah_env))
    image = config["Docker"]["config"]
    assert image["User"] == "10001:10001"
    assert image["Healthcheck"]["Test"][0] == "CMD"
    entrypoint = image["Entrypoint"]
    ran = run_in_image(reference, ["python3", "-c", _PROBE, *entrypoint], env=buildah_env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    uid, status, first = ran.stdout.split(maxsplit=2)
    assert (uid, status) == ("10001", "200"), ran.stdout + ran.stderr[-2000:]
    assert "sqlite:////var/lib/advisor/knowledge.db" in first
