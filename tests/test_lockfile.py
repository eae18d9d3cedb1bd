"""Lockfile rendering and reading: pylock.toml, hashed requirements.txt, atomic writes."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.pylock import Pylock
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from advisor.errors import LockfileError
from advisor.lockfile import (
    LockMeta,
    is_requirements_lock,
    parse_pylock,
    read_pylock,
    read_requirements_lock,
    render_pylock,
    render_requirements,
    write_atomic,
)
from advisor.models import DistFile, Edge, Pin, Resolution

if TYPE_CHECKING:
    from collections.abc import Mapping

INDEX = "https://idx.example.invalid/simple/"
FILES = "https://files.example.invalid/packages/"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dist(filename: str, *, index: str = INDEX, **kw: Any) -> DistFile:
    kw.setdefault("hashes", (("sha256", digest(filename)),))
    return DistFile(filename=filename, url=FILES + filename, index=index, **kw)


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


def pin(name: str, version: str, *filenames: str, **kw: Any) -> Pin:
    files = kw.pop("files", tuple(dist(f) for f in filenames))
    return Pin(name=n(name), version=Version(version), files=files, **kw)


def sample_resolution() -> Resolution:
    return Resolution(
        pins=(
            pin(
                "requests",
                "2.32.3",
                "requests-2.32.3-py3-none-any.whl",
                "requests-2.32.3.tar.gz",
                dependencies=(n("urllib3"), n("idna")),
                requires_python=">=3.8",
                index=INDEX,
            ),
            pin("idna", "3.7", "idna-3.7-py3-none-any.whl", index=INDEX),
            pin(
                "urllib3",
                "2.2.2",
                "urllib3-2.2.2-py3-none-any.whl",
                marker='sys_platform == "linux"',
                index=INDEX,
            ),
            pin(
                "urllib3",
                "1.26.19",
                "urllib3-1.26.19-py2.py3-none-any.whl",
                marker='sys_platform == "win32"',
                index=INDEX,
            ),
        ),
        edges=(
            Edge(
                parent=None, child=n("requests"), requirement="requests", origin="requirements.in:1"
            ),
            Edge(parent=n("requests"), child=n("idna"), requirement="idna<4,>=2.5"),
            Edge(parent=n("requests"), child=n("urllib3"), requirement="urllib3<3,>=1.21.1"),
            Edge(parent=None, child=n("idna"), requirement="idna", origin="requirements.in:2"),
        ),
    )


META = LockMeta(
    environments=('sys_platform == "linux"', 'sys_platform == "win32"'),
    requires_python=">=3.11",
    input_digest="sha256:" + "0" * 64,
    tool={"recommendation": "stable", "advisor-version": "0.1.0"},
)


def toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


# --------------------------------------------------------------------------- pylock render


def test_render_pylock_validates_and_has_the_pep751_fields() -> None:
    text = render_pylock(sample_resolution(), META)
    data = toml(text)
    Pylock.from_dict(data).validate()
    assert data["lock-version"] == "1.0"
    assert data["created-by"] == "stack-advisor"
    assert data["requires-python"] == ">=3.11"
    assert data["environments"] == ['sys_platform == "linux"', 'sys_platform == "win32"']
    names = [(p["name"], p.get("marker")) for p in data["packages"]]
    assert names == [
        ("idna", None),
        ("requests", None),
        ("urllib3", 'sys_platform == "linux"'),
        ("urllib3", 'sys_platform == "win32"'),
    ]
    requests = data["packages"][1]
    assert requests["version"] == "2.32.3"
    assert requests["requires-python"] == ">=3.8"
    assert requests["index"] == INDEX
    assert [w["name"] for w in requests["wheels"]] == ["requests-2.32.3-py3-none-any.whl"]
    wheel = requests["wheels"][0]
    assert wheel["url"] == FILES + "requests-2.32.3-py3-none-any.whl"
    assert wheel["hashes"] == {"sha256": digest("requests-2.32.3-py3-none-any.whl")}
    assert requests["sdist"]["name"] == "requests-2.32.3.tar.gz"
    # A name locked twice is referenced with its versions; a unique one by name only.
    assert requests["dependencies"] == [
        {"name": "idna"},
        {"name": "urllib3", "version": "2.2.2"},
        {"name": "urllib3", "version": "1.26.19"},
    ]
    assert data["tool"]["advisor"] == {
        "advisor-version": "0.1.0",
        "input-digest": "sha256:" + "0" * 64,
        "recommendation": "stable",
    }


def test_render_pylock_is_byte_stable_whatever_the_input_order() -> None:
    res = sample_resolution()
    shuffled = Resolution(
        pins=tuple(
            Pin(
                name=p.name,
                version=p.version,
                files=tuple(reversed(p.files)),
                dependencies=tuple(reversed(p.dependencies)),
                marker=p.marker,
                index=p.index,
                requires_python=p.requires_python,
            )
            for p in reversed(res.pins)
        ),
        edges=tuple(reversed(res.edges)),
    )
    meta = LockMeta(
        environments=META.environments,
        requires_python=META.requires_python,
        input_digest=META.input_digest,
        tool=dict(reversed(list(META.tool.items()))),
    )
    first = render_pylock(res, META)
    assert render_pylock(res, META) == first
    assert render_pylock(shuffled, meta) == first


def test_wheel_fields_size_upload_time_in_utc_and_file_urls_kept() -> None:
    local_index = "file:///srv/wheels/simple/"
    moment = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    wheel = DistFile(
        filename="tiny-1.0-py3-none-any.whl",
        url="file:///srv/wheels/tiny-1.0-py3-none-any.whl",
        index=local_index,
        hashes=(("sha256", digest("t")), ("sha512", "ab" * 64)),
        upload_time=moment,
        size=1234,
    )
    naive = DistFile(
        filename="tiny-1.0.tar.gz",
        url="file:///srv/wheels/tiny-1.0.tar.gz",
        index=local_index,
        hashes=(("sha256", digest("s")),),
        upload_time=datetime(2024, 5, 1, 12, 0),
    )
    res = Resolution(pins=(pin("tiny", "1.0", files=(wheel, naive)),))
    data = toml(render_pylock(res, META))
    (pkg,) = data["packages"]
    assert pkg["index"] == local_index  # taken from the files when the pin has none
    (w,) = pkg["wheels"]
    assert w["url"] == "file:///srv/wheels/tiny-1.0-py3-none-any.whl"
    assert w["size"] == 1234
    assert w["upload-time"] == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert w["hashes"] == {"sha256": digest("t"), "sha512": "ab" * 64}
    assert pkg["sdist"]["upload-time"] == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert "size" not in pkg["sdist"]


def test_direct_archive_and_needs_build() -> None:
    archive_hash = digest("archive")
    res = Resolution(
        pins=(
            Pin(
                name=n("local-pkg"),
                version=Version("0.3"),
                direct_url=f"https://files.example.invalid/local_pkg-0.3.tar.gz#sha256={archive_hash}",
                needs_build=True,
            ),
            pin("built", "1.0", "built-1.0.tar.gz", needs_build=True),
        )
    )
    data = toml(render_pylock(res, META))
    built, local = data["packages"]
    assert local["archive"] == {
        "url": "https://files.example.invalid/local_pkg-0.3.tar.gz",
        "hashes": {"sha256": archive_hash},
    }
    assert "index" not in local and "wheels" not in local
    assert local["tool"] == {"advisor": {"needs-build": True}}
    assert built["sdist"]["name"] == "built-1.0.tar.gz"
    assert built["tool"] == {"advisor": {"needs-build": True}}


def test_direct_archive_without_a_hash_is_refused() -> None:
    res = Resolution(
        pins=(
            Pin(
                name=n("x"),
                version=Version("1"),
                direct_url="https://files.example.invalid/x-1.tar.gz",
            ),
        )
    )
    with pytest.raises(LockfileError, match=r"x @ https://files\.example\.invalid/x-1\.tar\.gz"):
        render_pylock(res, META)


def test_direct_archive_hash_from_its_file() -> None:
    url = "https://files.example.invalid/x-1-py3-none-any.whl"
    archive = DistFile(
        filename="x-1-py3-none-any.whl",
        url=url,
        index="",
        hashes=(("sha256", digest("x")),),
        size=99,
    )
    res = Resolution(
        pins=(Pin(name=n("x"), version=Version("1"), direct_url=url, files=(archive,)),)
    )
    (pkg,) = toml(render_pylock(res, META))["packages"]
    assert pkg["archive"] == {"url": url, "size": 99, "hashes": {"sha256": digest("x")}}


def test_credentials_never_reach_the_lock() -> None:
    secret_index = "https://alice:s3cret@idx.example.invalid/simple/"
    wheel = DistFile(
        filename="p-1.0-py3-none-any.whl",
        url="https://alice:s3cret@files.example.invalid/p-1.0-py3-none-any.whl#sha256=abc",
        index=secret_index,
        hashes=(("sha256", digest("p")),),
    )
    meta = LockMeta(
        environments=(),
        requires_python=None,
        input_digest="d",
        tool={"indexes": [{"url": secret_index, "name": "private"}]},
    )
    text = render_pylock(
        Resolution(pins=(pin("p", "1.0", files=(wheel,), index=secret_index),)), meta
    )
    assert "s3cret" not in text and "alice" not in text
    data = toml(text)
    assert data["packages"][0]["index"] == INDEX
    assert data["packages"][0]["wheels"][0]["url"].endswith("/p-1.0-py3-none-any.whl")
    assert data["tool"]["advisor"]["indexes"] == [{"name": "private", "url": INDEX}]
    assert "environments" not in data


def test_meta_for_targets_uses_markers_and_dicts() -> None:
    class Target:
        def __init__(self, name: str, platform: str) -> None:
            self.name = name
            self.platform = platform

        def lock_marker(self) -> str:
            return f'sys_platform == "{self.platform}"'

        def to_dict(self) -> Mapping[str, Any]:
            return {"name": self.name, "sys_platform": self.platform, "gpu": None}

    meta = LockMeta.for_targets(
        [Target("server", "linux"), Target("laptop", "darwin")],
        requires_python=">=3.11",
        input_digest="abc",
        tool={"recommendation": "latest"},
    )
    assert meta.environments == ('sys_platform == "linux"', 'sys_platform == "darwin"')
    data = toml(render_pylock(sample_resolution(), meta))
    assert data["environments"] == list(meta.environments)
    assert data["tool"]["advisor"]["environments"] == [
        {"name": "server", "sys_platform": "linux"},
        {"name": "laptop", "sys_platform": "darwin"},
    ]
    assert data["tool"]["advisor"]["recommendation"] == "latest"


@pytest.mark.parametrize(
    ("resolution", "message"),
    [
        (
            Resolution(pins=(pin("a", "1", files=(dist("a-1-py3-none-any.whl", hashes=()),)),)),
            r"a 1: no hash for a-1-py3-none-any\.whl",
        ),
        (
            Resolution(pins=(pin("a", "1", "a-1-py3-none-any.whl", marker="python_version >"),)),
            r"invalid marker of a",
        ),
        (
            Resolution(pins=(pin("a", "1", "a-1-py3-none-any.whl", requires_python="3.x"),)),
            r"invalid requires-python of a",
        ),
        (
            Resolution(pins=(pin("a", "1"),)),
            r"a 1: no wheel or sdist to lock",
        ),
        (
            Resolution(
                pins=(pin("a", "1", "a-1-py3-none-any.whl"), pin("a", "2", "a-2-py3-none-any.whl"))
            ),
            r"two pins for a",
        ),
        (
            # A file of another project cannot be locked under this name.
            Resolution(pins=(pin("a", "1", "b-1-py3-none-any.whl"),)),
            r"does not validate.*not consistent with package name",
        ),
    ],
)
def test_render_pylock_refuses_what_cannot_be_locked(resolution: Resolution, message: str) -> None:
    with pytest.raises(LockfileError, match=message):
        render_pylock(resolution, META)


def test_unsupported_tool_value_is_an_error() -> None:
    meta = LockMeta(environments=(), requires_python=None, input_digest="d", tool={"x": object()})
    with pytest.raises(LockfileError, match=r"\[tool\.advisor\]"):
        render_pylock(sample_resolution(), meta)


# --------------------------------------------------------------------------- pylock read


def test_read_pylock_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(render_pylock(sample_resolution(), META), encoding="utf-8")
    stack = read_pylock(path)
    assert stack.path == str(path)
    assert stack.input_digest == META.input_digest
    assert stack.environments == META.environments
    assert stack.requires_python == ">=3.11"
    assert stack.created_by == "stack-advisor"
    # urllib3 is locked twice: the preference is the highest version.
    assert stack.pins == {
        "idna": Version("3.7"),
        "requests": Version("2.32.3"),
        "urllib3": Version("2.2.2"),
    }
    by_key = {(str(p.name), p.marker): p for p in stack.packages}
    requests = by_key["requests", None]
    assert requests.files == ("requests-2.32.3-py3-none-any.whl", "requests-2.32.3.tar.gz")
    assert requests.dependencies == ("idna", "urllib3")
    assert requests.index == INDEX
    assert by_key["urllib3", 'sys_platform == "win32"'].version == Version("1.26.19")
    assert stack.tool["recommendation"] == "stable"


def test_read_pylock_direct_and_needs_build(tmp_path: Path) -> None:
    res = Resolution(
        pins=(
            Pin(
                name=n("d"),
                version=Version("1"),
                direct_url=f"https://files.example.invalid/d-1.tar.gz#sha256={digest('d')}",
                needs_build=True,
            ),
        )
    )
    stack = parse_pylock(render_pylock(res, META), source="<stdin>")
    (pkg,) = stack.packages
    assert (pkg.source, pkg.url, pkg.needs_build) == (
        "archive",
        "https://files.example.invalid/d-1.tar.gz",
        True,
    )


def test_read_pylock_of_a_foreign_lock(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(
        'lock-version = "1.0"\ncreated-by = "other"\n'
        '[[packages]]\nname = "d"\ndirectory = { path = "src/d" }\n',
        encoding="utf-8",
    )
    stack = read_pylock(path)
    assert stack.input_digest is None and stack.pins == {} and stack.tool == {}
    assert stack.packages[0].source == "directory"
    assert stack.packages[0].url == "src/d"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("lock-version = 1.0\n", r"invalid lock at 'lock-version': Unexpected type float"),
        ('lock-version = "1.0"\npackages = []\n', r"invalid lock at 'created-by': Missing"),
        ('lock-version = "2.0"\ncreated-by = "x"\npackages = []\n', r"not supported"),
        ("lock-version = \n", r"invalid TOML: .*line 1"),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
            '[[packages.wheels]]\nname = "a-1-py3-none-any.whl"\nurl = "file:///a.whl"\n',
            r"invalid lock at 'packages\[0\]\.wheels\[0\]\.hashes': Missing required value",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n[tool]\nadvisor = "x"\n',
            r"invalid lock at 'tool\.advisor': expected a table",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'
            "[tool.advisor]\ninput-digest = 3\n",
            r"invalid lock at 'tool\.advisor\.input-digest'",
        ),
    ],
)
def test_read_pylock_errors_name_the_file_and_key(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LockfileError, match=message) as info:
        read_pylock(path)
    assert str(info.value).startswith(f"{path}: ")


def test_read_pylock_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "pylock.toml"
    with pytest.raises(LockfileError, match=r"nope/pylock\.toml: cannot read lock"):
        read_pylock(path)


# --------------------------------------------------------------------------- requirements


def test_render_requirements_format() -> None:
    res = sample_resolution()
    text = render_requirements(res, header="advisor lock requirements.in -o requirements.txt")
    h = {d.filename: digest(d.filename) for p in res.pins for d in p.files}
    first, second = sorted([h["requests-2.32.3-py3-none-any.whl"], h["requests-2.32.3.tar.gz"]])
    assert text == (
        "#\n"
        "# This file was generated by advisor lock with the command:\n"
        "#\n"
        "#    advisor lock requirements.in -o requirements.txt\n"
        "#\n"
        "idna==3.7 \\\n"
        f"    --hash=sha256:{h['idna-3.7-py3-none-any.whl']}\n"
        "    # via\n"
        "    #   -r requirements.in\n"
        "    #   requests\n"
        "requests==2.32.3 \\\n"
        f"    --hash=sha256:{first} \\\n"
        f"    --hash=sha256:{second}\n"
        "    # via -r requirements.in\n"
        'urllib3==2.2.2 ; sys_platform == "linux" \\\n'
        f"    --hash=sha256:{h['urllib3-2.2.2-py3-none-any.whl']}\n"
        "    # via requests\n"
        'urllib3==1.26.19 ; sys_platform == "win32" \\\n'
        f"    --hash=sha256:{h['urllib3-1.26.19-py2.py3-none-any.whl']}\n"
        "    # via requests\n"
    )


def test_render_requirements_without_hashes_or_annotations() -> None:
    text = render_requirements(sample_resolution(), header="x", hashes=False, annotate=False)
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == [
        "idna==3.7",
        "requests==2.32.3",
        'urllib3==2.2.2 ; sys_platform == "linux"',
        'urllib3==1.26.19 ; sys_platform == "win32"',
    ]


def test_render_requirements_direct_archive_extras_and_origins() -> None:
    h = digest("archive")
    res = Resolution(
        pins=(
            Pin(
                name=n("local-pkg"),
                version=Version("0.3"),
                direct_url=f"https://u:p@files.example.invalid/local_pkg-0.3.tar.gz#sha256={h}",
                marker='os_name == "posix"',
            ),
            pin(
                "fancy",
                "1.0",
                files=(dist("fancy-1.0-py3-none-any.whl", hashes=(("md5", "x"), ("sha512", "f"))),),
                extras=frozenset({n("speed")}),
            ),
        ),
        edges=(
            Edge(parent=None, child=n("local-pkg"), requirement="local-pkg @ ...", origin=""),
            Edge(
                parent=None,
                child=n("fancy"),
                requirement="fancy[speed]",
                origin="pyproject.toml [project.dependencies]",
            ),
            Edge(parent=None, child=n("fancy"), requirement="fancy", origin="dev.txt"),
        ),
    )
    text = render_requirements(res, header="advisor lock\n  --flag")
    assert "#    advisor lock\n#      --flag\n" in text
    assert (
        "fancy==1.0 \\\n    --hash=sha512:f\n"
        "    # via\n    #   -r dev.txt\n    #   pyproject.toml [project.dependencies]\n"
    ) in text
    assert (
        "local-pkg @ https://files.example.invalid/local_pkg-0.3.tar.gz ; "
        f'os_name == "posix" \\\n    --hash=sha256:{h}\n    # via -r (root requirements)\n'
    ) in text
    assert "u:p@" not in text


def test_render_requirements_needs_a_usable_hash() -> None:
    res = Resolution(
        pins=(pin("a", "1", files=(dist("a-1-py3-none-any.whl", hashes=(("md5", "0" * 32),)),)),)
    )
    with pytest.raises(LockfileError, match=r"a 1: no sha256/sha384/sha512 hash"):
        render_requirements(res, header="x")
    assert "a==1\n" in render_requirements(res, header="x", hashes=False)


def test_read_requirements_lock(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(
        render_requirements(sample_resolution(), header="advisor lock")
        + "--index-url https://idx.example.invalid/simple/\n"
        "-r other.txt\n"
        "direct @ https://files.example.invalid/direct-1.tar.gz\n"
        "ranged>=1,<2\n"
        "wild==1.*\n"
        "Mixed_Case[extra]==2.0 ; python_version >= '3' --hash=sha256:00 # note\n",
        encoding="utf-8",
    )
    assert read_requirements_lock(path) == {
        "idna": Version("3.7"),
        "mixed-case": Version("2.0"),
        "requests": Version("2.32.3"),
        "urllib3": Version("2.2.2"),
    }


def test_read_requirements_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("a==1\n\nthis is not a requirement\n", encoding="utf-8")
    with pytest.raises(LockfileError, match=rf"{path}:3: not a requirement"):
        read_requirements_lock(path)
    with pytest.raises(LockfileError, match="cannot read lock"):
        read_requirements_lock(tmp_path / "missing.txt")


names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
versions = st.lists(st.integers(0, 30), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)


@given(st.dictionaries(names, versions, min_size=1, max_size=8), st.booleans())
def test_requirements_round_trip(pins: dict[str, str], hashes: bool) -> None:
    res = Resolution(
        pins=tuple(
            pin(name, v, f"{name.replace('-', '_')}-{v}-py3-none-any.whl")
            for name, v in pins.items()
        )
    )
    text = render_requirements(res, header="advisor lock", hashes=hashes)
    # hypothesis runs many examples per test: tmp_path would be shared between them.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.txt"
        path.write_text(text, encoding="utf-8")
        assert read_requirements_lock(path) == {n(k): Version(v) for k, v in pins.items()}


# --------------------------------------------------------------------------- atomic write


def test_write_atomic_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    write_atomic(path, "one\n")
    assert path.read_bytes() == b"one\n"
    os.chmod(path, 0o640)
    write_atomic(path, "two ünïcode\r\n")
    assert path.read_bytes() == "two ünïcode\r\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml"]


def test_write_atomic_new_file_mode_follows_umask(tmp_path: Path) -> None:
    path = tmp_path / "new.txt"
    write_atomic(path, "x")
    current = os.umask(0)
    os.umask(current)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current


def test_write_atomic_failure_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text("old content\n", encoding="utf-8")
    # A lone surrogate cannot be encoded: the write fails before anything is opened.
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "new content \udc80 never written\n")
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml"]


def test_write_atomic_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "pylock.toml", "x")


def test_a_file_listed_by_two_indexes_is_locked_once() -> None:
    name = "dup-1.0-py3-none-any.whl"
    twice = (dist(name), dist(name, index="https://mirror.example.invalid/simple/"))
    (pkg,) = toml(render_pylock(Resolution(pins=(pin("dup", "1.0", files=twice),)), META))[
        "packages"
    ]
    assert [w["name"] for w in pkg["wheels"]] == [name]
    assert "index" not in pkg  # the files disagree and the pin names none


@pytest.mark.parametrize(
    ("text", "is_lock"),
    [
        ("tinyhttp==1.3 \\\n    --hash=sha256:" + "a" * 64 + "\n", True),
        (
            "# pinned\n--index-url http://127.0.0.1/simple\nA==1\nb[x]==2 ; python_version>'3'\n",
            True,
        ),
        ("", False),  # nothing pinned
        ("# only a comment\n", False),
        ("tinyhttp>=1\n", False),
        ("tinyhttp==1.*\n", False),
        ("A==1\n-r other.txt\n", False),
        ("A==1\n-e ./src\n", False),
        ("A==1\nthis is not a requirement\n", False),
        ("demo @ https://example.org/demo-1.0.tar.gz\n", False),
    ],
)
def test_a_requirements_lock_is_told_by_its_content(text: str, is_lock: bool) -> None:
    assert is_requirements_lock(text) is is_lock
