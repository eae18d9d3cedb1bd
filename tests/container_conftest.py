"""Fixtures for the container image tests: buildah in a throwaway store, a locally made base image.

* ``buildah_env`` (session): the environment (``os.environ`` minus what steers buildah, plus
  :func:`tests.support.containers.storage_env`) under which buildah uses a store of its own
  under this session's (this xdist worker's) temporary folder: ``vfs`` driver, ``chroot``
  isolation, no registry configured, nothing read from the machine's containers
  configuration. At the end of the session the working containers are unmounted and
  removed and the store is deleted. Needs ``buildah`` and root.
* ``local_base_image`` (session): a :class:`~tests.support.containers.LocalBaseImage`
  (``reference``, ``python`` like ``"3.11"``, ``platform_glibc`` like ``"2.36"``, ``env``):
  a minbase Debian of this machine's release with ``python3`` and ``python3-venv``, built with
  ``mmdebstrap`` from the machine's apt sources once per test run (shared by the xdist workers
  through a file lock; ~30 s, the only network the tests use besides the package index) and
  imported into each worker's store (~3 s). Build with ``--pull=never`` and
  ``--build-arg BASE_IMAGE=<reference>``.

* ``local_registry`` (session): a :class:`~tests.support.registry.LocalRegistry`, Debian's
  ``docker-registry`` serving plain HTTP on ``127.0.0.1`` and a free port, storing in this
  session's temporary folder; stopped at the end of the session.

Missing tools (or not running as root) skip the tests that need them, with the reason; with
``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.support.containers import (
    BaseImageError,
    BuildahError,
    LocalBaseImage,
    base_reference,
    clear_storage,
    host_suite,
    import_base,
    inspect_base,
    isolated_environ,
    shared_base_tarball,
)
from tests.support.registry import REGISTRY_BINARY, LocalRegistry, RegistryError, start_registry

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["buildah_env", "local_base_image", "local_registry", "skip_or_fail"]


def skip_or_fail(reason: str, *, detail: str = "") -> NoReturn:
    """Skip with ``reason``; under ``CI=true`` fail instead, with ``detail`` (a log's tail)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the container tests must run)\n{detail}".rstrip())
    pytest.skip(reason)


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder common to all xdist workers of this run (the run's base temp otherwise)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "container-base"


@pytest.fixture(scope="session")
def buildah_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if shutil.which("buildah") is None:
        skip_or_fail("buildah is not installed (apt-get install buildah)")
    if os.geteuid() != 0:
        skip_or_fail("the container tests run buildah as root (vfs store, chroot isolation)")
    root = tmp_path_factory.mktemp("buildah")
    env = isolated_environ(root, base=os.environ)
    try:
        yield env
    finally:
        clear_storage(root, env=env)


@pytest.fixture(scope="session")
def local_base_image(
    buildah_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> LocalBaseImage:
    if shutil.which("mmdebstrap") is None:
        skip_or_fail("mmdebstrap is not installed (apt-get install mmdebstrap)")
    try:
        suite = host_suite()
        tarball = shared_base_tarball(_shared_folder(tmp_path_factory))
    except BaseImageError as exc:
        first_line = str(exc).splitlines()[0]
        skip_or_fail(f"cannot make the local base image: {first_line}", detail=str(exc))
    try:
        import_base(tarball, reference=base_reference(suite), env=buildah_env)
        return inspect_base(base_reference(suite), env=buildah_env)
    except BuildahError as exc:
        pytest.fail(f"the local base image does not work: {exc}")


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    if shutil.which(REGISTRY_BINARY) is None:
        skip_or_fail(f"{REGISTRY_BINARY} is not installed (apt-get install docker-registry)")
    try:
        with start_registry(tmp_path_factory.mktemp("registry")) as registry:
            yield registry
    except RegistryError as exc:
        pytest.fail(f"the local registry does not start: {exc}")
