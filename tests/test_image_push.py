"""Pushing and inspecting images, the fast parts: the push destination, each tool's command
line, what a failed push means, the errors a push gives before any tool runs, and an image
described from its labels and files (those of a real generated context). The pushes
themselves run against a real registry in ``tests/test_image_build_real.py``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from advisor.api import PushOptions
from advisor.api.publishing import push_image
from advisor.cli import cli
from advisor.errors import InputError
from advisor.image.inspection import FILE_LABELS, RawImage, _read_inside, describe_image
from advisor.image.registry import (
    PushSource,
    classify_push,
    push_argv,
    push_destination,
    push_hint,
    read_digest,
)
from tests.support.index import Project, release
from tests.test_image import _generate

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.index import FixtureIndex

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def index(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory(
        [
            Project(name="tiny", files=release("1.1", requires_dist=["helper>=2"])),
            Project(name="helper", files=release("2.0")),
        ]
    )


@pytest.fixture
def environ(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**pip_env, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}


def test_push_destination_gets_the_default_tag_and_refuses_what_is_not_one() -> None:
    assert push_destination("127.0.0.1:5000/team/minimal", default_tag="abc") == (
        "127.0.0.1:5000/team/minimal:abc"
    )
    assert push_destination("docker://registry.example:443/x:v1", default_tag="abc") == (
        "registry.example:443/x:v1"
    )
    assert push_destination("localhost/x", default_tag="t") == "localhost/x:t"
    with pytest.raises(InputError, match="not a digest"):
        push_destination(f"127.0.0.1:5000/x@{DIGEST}", default_tag="t")
    with pytest.raises(InputError, match="name the registry"):
        push_destination("team/minimal", default_tag="t")
    with pytest.raises(InputError, match="not an image reference"):
        push_destination("127.0.0.1:5000/Team/Minimal", default_tag="t")


def test_push_argv_per_tool_and_tls_flag(tmp_path: Path) -> None:
    digestfile = tmp_path / "d"
    buildah = PushSource(tool="buildah", executable="/usr/bin/buildah", image="abc123")
    assert push_argv(buildah, "h:1/x:t", digestfile=digestfile, tls_verify=None) == [
        "/usr/bin/buildah", "push", "--digestfile", str(digestfile), "abc123", "docker://h:1/x:t",
    ]  # fmt: skip
    assert "--tls-verify=false" in push_argv(
        buildah, "h:1/x:t", digestfile=digestfile, tls_verify=False
    )
    podman = PushSource(tool="podman", executable="podman", image="abc123")
    assert push_argv(podman, "h:1/x:t", digestfile=digestfile, tls_verify=True)[:5] == [
        "podman", "push", "--digestfile", str(digestfile), "--tls-verify=true",
    ]  # fmt: skip
    archive = tmp_path / "image.oci.tar"
    skopeo = PushSource(tool="skopeo", executable="skopeo", archive=archive)
    assert push_argv(skopeo, "h:1/x:t", digestfile=digestfile, tls_verify=False) == [
        "skopeo", "copy", "--digestfile", str(digestfile), "--dest-tls-verify=false",
        f"oci-archive:{archive}", "docker://h:1/x:t",
    ]  # fmt: skip


def test_read_digest_takes_only_a_digest(tmp_path: Path) -> None:
    path = tmp_path / "d"
    assert read_digest(path) is None
    path.write_text(DIGEST, encoding="utf-8")
    assert read_digest(path) == DIGEST
    path.write_text("garbage", encoding="utf-8")
    assert read_digest(path) is None


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            'Error: pushing image "localhost/x:1" to "docker://127.0.0.1:5123/x:1": pinging'
            ' container registry 127.0.0.1:5123: Get "https://127.0.0.1:5123/v2/": http:'
            " server gave HTTP response to HTTPS client",
            "tls",
        ),
        ("x509: certificate signed by unknown authority", "tls"),
        ("Error: writing blob: unauthorized: authentication required", "auth"),
        ('Error: pushing image "abc": abc: image not known', "image-missing"),
        ("dial tcp 127.0.0.1:9: connect: connection refused", "unreachable"),
        ("something else", "unknown"),
    ],
)
def test_classify_push(output: str, expected: str) -> None:
    assert classify_push(output, timed_out=False) == expected
    assert classify_push(output, timed_out=True) == "timeout"


def test_the_tls_hint_names_both_ways_out() -> None:
    hint = push_hint("tls") or ""
    assert "--no-tls-verify" in hint and "registries.conf" in hint


def test_push_refuses_a_context_that_was_not_built(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    _generate(index, environ, tmp_path, "tiny")
    context = tmp_path / "ctx"
    with pytest.raises(InputError, match="no successful build to push"):
        push_image(context, "127.0.0.1:5000/x", environ=environ)
    record = json.loads((context / "image.json").read_text(encoding="utf-8"))
    record["build"] = {"tool": "docker", "tag": "t", "outcome": "ok", "image-id": "x"}
    (context / "image.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(InputError, match="built with docker"):
        push_image(context, "127.0.0.1:5000/x", environ=environ)
    with pytest.raises(InputError, match="no such OCI archive"):
        missing = PushOptions(archive=tmp_path / "no.tar")
        push_image(context, "127.0.0.1:5000/x", opts=missing, environ=environ)
    result = CliRunner().invoke(cli, ["image", "push", str(context), "short-name"])
    assert isinstance(result.exception, InputError)  # the CLI's main turns it into exit 2
    assert "built with docker" in str(result.exception)
    assert "pushed" not in json.loads((context / "image.json").read_text(encoding="utf-8"))


def _raw_from_context(context: Path) -> RawImage:
    """The labels the Containerfile sets and the files it copies, read from the context."""
    text = (context / "Containerfile").read_text(encoding="utf-8")
    final = text.split("\nLABEL ")[-1].split("\nUSER ")[0]
    labels = {}
    for line in final.splitlines():
        key, _, value = line.strip().removesuffix("\\").strip().partition("=")
        labels[key] = json.loads(value)
    files = {
        "lock": (context / "pylock.toml").read_text(encoding="utf-8"),
        "sbom": (context / "sbom.cdx.json").read_text(encoding="utf-8"),
        "constraints": (context / "constraints.txt").read_text(encoding="utf-8"),
    }
    return RawImage(image_id="abc", digest=DIGEST, labels=labels, files=files)


def test_describe_image_checks_the_lock_against_its_label(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    outcome = _generate(index, environ, tmp_path, "tiny")
    raw = _raw_from_context(tmp_path / "ctx")
    found = describe_image("r", raw)
    assert (found.recipe, found.lock_digest, found.lock_verified) == (
        "minimal",
        outcome.lock_digest,
        True,
    )
    assert found.pins == {"helper": "2.0", "tiny": "1.1"} and found.problems == ()
    assert found.sbom is not None and found.sbom.components == (("helper", "2.0"), ("tiny", "1.1"))
    assert found.paths["constraints"] == "/etc/pip/constraint.txt"
    tampered = RawImage(
        image_id=None,
        digest=None,
        labels=raw.labels,
        files={**raw.files, "lock": str(raw.files["lock"]) + "\n", "sbom": None},
    )
    found = describe_image("r", tampered)
    assert not found.lock_verified and found.sbom is None
    assert any("does not have the labelled digest" in p for p in found.problems)
    assert any("(sbom) is not in the image" in p for p in found.problems)
    labels = {k: v for k, v in raw.labels.items() if k != "io.stack-advisor.recipe"}
    with pytest.raises(InputError, match="not an image made by advisor"):
        describe_image("r", RawImage(image_id=None, digest=None, labels=labels, files={}))
    assert set(FILE_LABELS.values()) <= set(raw.labels)


def test_a_label_path_cannot_leave_the_image(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (tmp_path / "host-secret").write_text("secret", encoding="utf-8")
    os.symlink(tmp_path / "host-secret", root / "etc" / "link")
    (root / "etc" / "ok").write_text("fine", encoding="utf-8")
    assert _read_inside(root, "/etc/ok") == "fine"
    assert _read_inside(root, "/etc/missing") is None
    for path in ("/etc/link", "/../host-secret"):
        with pytest.raises(InputError, match="leaves the image"):
            _read_inside(root, path)
    with pytest.raises(InputError, match="not absolute"):
        _read_inside(root, "etc/ok")


def test_image_list_shows_where_the_last_build_was_pushed(tmp_path: Path) -> None:
    from advisor.knowledge.schema import BuildObservation, Provenance
    from advisor.knowledge.store import open_store

    url = f"sqlite:///{tmp_path / 'k.db'}"
    reference = f"127.0.0.1:5000/team/minimal@{DIGEST}"
    built = BuildObservation(
        image="minimal",
        stack_digest=DIGEST,
        outcome="ok",
        provenance=Provenance(source="image-build:buildah", date="2026-01-01T00:00:00Z"),
    )
    pushed = BuildObservation(
        image="minimal",
        stack_digest=DIGEST,
        outcome="ok",
        pushed=(reference,),
        provenance=Provenance(source="image-push:buildah", date="2026-01-01T00:05:00Z"),
    )
    with open_store(url) as store:
        store.put([built, pushed])
    result = CliRunner().invoke(cli, ["image", "list", "--knowledge", url, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    last = rows["minimal"]["last-build"]
    assert (last["tool"], last["pushed"]) == ("buildah", [reference])
    text = CliRunner().invoke(cli, ["image", "list", "--knowledge", url]).output
    assert f"pushed: {reference}" in text
