"""The locally made base image and the isolated buildah store (tests/support/containers.py).

Real buildah, real image: the base image runs Python, makes a venv with pip, and serves as the
base of a ``buildah build`` that never contacts a registry. The helpers' own logic (finding
the machine's release and apt sources, the environment, the shared tarball) is checked fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.container_conftest import skip_or_fail
from tests.support.containers import (
    BaseImageError,
    apt_sources,
    buildah,
    host_suite,
    isolated_environ,
    make_base_tarball,
    run_in_image,
    shared_base_tarball,
)

if TYPE_CHECKING:
    from tests.support.containers import LocalBaseImage


# --- the helpers, fast ---------------------------------------------------------------------


def test_host_suite_reads_the_codename(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nVERSION_CODENAME="trixie"\n', encoding="utf-8")
    assert host_suite(release) == "trixie"
    release.write_text("ID=debian\nVERSION_CODENAME=bookworm\n", encoding="utf-8")
    assert host_suite(release) == "bookworm"
    release.write_text("ID=debian\n", encoding="utf-8")
    with pytest.raises(BaseImageError, match="no VERSION_CODENAME"):
        host_suite(release)
    with pytest.raises(BaseImageError, match="cannot read"):
        host_suite(tmp_path / "missing")


def test_apt_sources_are_the_non_empty_files(tmp_path: Path) -> None:
    with pytest.raises(BaseImageError, match="no apt sources"):
        apt_sources(tmp_path)
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    for name, text in [("b.sources", "Types: deb\n"), ("a.sources", "Types: deb\n")]:
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "empty.sources").touch()
    (folder / "old.list.disabled").write_text("deb x y z\n", encoding="utf-8")
    assert apt_sources(tmp_path) == (folder / "a.sources", folder / "b.sources")
    (tmp_path / "sources.list").write_text("deb x y z\n", encoding="utf-8")
    assert apt_sources(tmp_path)[-1] == tmp_path / "sources.list"


def test_the_environment_keeps_buildah_inside_its_folder(tmp_path: Path) -> None:
    host = {
        "PATH": "/bin",
        "LANG": "C.UTF-8",
        "CONTAINERS_REGISTRIES_CONF": "/elsewhere/registries.conf",
        "REGISTRIES_CONFIG_PATH": "/elsewhere/registries.conf",
        "STORAGE_OPTS": "overlay.mount_program=/x",
        "BUILDAH_LAYERS": "true",
        "REGISTRY_AUTH_FILE": "/elsewhere/auth.json",
        "DOCKER_CONFIG": "/elsewhere",
        "XDG_CONFIG_HOME": "/elsewhere",
        "HOME": "/elsewhere",
    }
    env = isolated_environ(tmp_path, base=host)
    assert env["PATH"] == "/bin" and env["LANG"] == "C.UTF-8"
    for name in ("CONTAINERS_REGISTRIES_CONF", "REGISTRIES_CONFIG_PATH", "STORAGE_OPTS"):
        assert name not in env
    assert "BUILDAH_LAYERS" not in env and "REGISTRY_AUTH_FILE" not in env
    assert "DOCKER_CONFIG" not in env
    assert env["STORAGE_DRIVER"] == "vfs" and env["BUILDAH_ISOLATION"] == "chroot"
    root = tmp_path.resolve()
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "TMPDIR", "CONTAINERS_CONF"):
        assert Path(env[name]).is_relative_to(root), name
    storage = tomllib.loads(Path(env["CONTAINERS_STORAGE_CONF"]).read_text(encoding="utf-8"))
    assert storage["storage"]["driver"] == "vfs"
    assert Path(storage["storage"]["graphroot"]).is_relative_to(root)
    assert Path(storage["storage"]["runroot"]).is_relative_to(root)
    config = Path(env["HOME"]) / ".config" / "containers"
    registries = tomllib.loads((config / "registries.conf").read_text(encoding="utf-8"))
    assert registries == {"unqualified-search-registries": []}
    assert json.loads((config / "policy.json").read_text(encoding="utf-8"))["default"]
    network = tomllib.loads(Path(env["CONTAINERS_CONF"]).read_text(encoding="utf-8"))
    assert Path(network["network"]["network_config_dir"]).is_relative_to(root)


def test_the_shared_tarball_is_reused_and_a_failure_remembered(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.mkdir()
    (built / "base.tar").write_bytes(b"")
    assert shared_base_tarball(built) == built / "base.tar"
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "base.tar.failed").write_text("mmdebstrap exited with 1; log: x", encoding="utf-8")
    with pytest.raises(BaseImageError, match="exited with 1"):
        shared_base_tarball(failed)


def test_an_mmdebstrap_failure_says_why(tmp_path: Path) -> None:
    if shutil.which("mmdebstrap") is None or os.geteuid() != 0:
        skip_or_fail("needs mmdebstrap and root")
    sources = tmp_path / "broken.sources"
    sources.write_text(
        f"Types: deb\nURIs: {(tmp_path / 'no-mirror').as_uri()}\nSuites: bookworm\n"
        "Components: main\n",
        encoding="utf-8",
    )
    dest = tmp_path / "out" / "base.tar"
    with pytest.raises(BaseImageError, match=r"mmdebstrap .* exited with") as caught:
        make_base_tarball(dest, suite="bookworm", sources=[sources], timeout=120)
    assert "E:" in caught.value.log_tail
    assert str(dest.with_name("base.tar.log")) in caught.value.message
    assert sorted(p.name for p in dest.parent.iterdir()) == ["base.tar.log"]


# --- real buildah ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_store_is_isolated_on_vfs(buildah_env: dict[str, str]) -> None:
    store = json.loads(buildah("info", env=buildah_env))["store"]
    assert store["GraphDriverName"] == "vfs"
    root = Path(buildah_env["CONTAINERS_STORAGE_CONF"]).parent
    assert Path(store["GraphRoot"]).is_relative_to(root)
    assert Path(store["RunRoot"]).is_relative_to(root)


@pytest.mark.slow
def test_base_image_runs_python(local_base_image: LocalBaseImage) -> None:
    assert re.fullmatch(r"3\.\d+", local_base_image.python)
    assert re.fullmatch(r"\d+\.\d+", local_base_image.platform_glibc)
    result = run_in_image(
        local_base_image.reference,
        ["python3", "-c", "import sys; print(sys.version)"],
        env=local_base_image.env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{local_base_image.python}.")


@pytest.mark.slow
def test_base_image_makes_a_venv_with_pip(local_base_image: LocalBaseImage) -> None:
    result = run_in_image(
        local_base_image.reference,
        ["sh", "-c", "python3 -m venv /tmp/v && /tmp/v/bin/python -m pip --version"],
        env=local_base_image.env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pip ")
    assert f"(python {local_base_image.python})" in result.stdout


@pytest.mark.slow
def test_build_from_the_local_base(local_base_image: LocalBaseImage, tmp_path: Path) -> None:
    env = local_base_image.env
    (tmp_path / "Containerfile").write_text(
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN python3 -c "print(1)"\n', encoding="utf-8"
    )
    tag = "localhost/advisor-test-build:latest"
    # other tests' failed builds may leave containers in the session's store: compare sets
    before = set(buildah("containers", "--quiet", env=env).split())
    output = buildah(
        "build",
        "--pull=never",
        f"--build-arg=BASE_IMAGE={local_base_image.reference}",
        f"--tag={tag}",
        str(tmp_path),
        env=env,
    )
    assert "1" in output.splitlines()
    images = json.loads(buildah("images", "--json", env=env))
    assert any(tag in image.get("names", []) for image in images)
    after = set(buildah("containers", "--quiet", env=env).split())
    assert after == before  # the RUN step's container is gone
    buildah("rmi", tag, env=env)
