"""Tests for advisor.request: requirements files, pyproject.toml, the request digest."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

import advisor.request as request_module
from advisor.errors import InputError, InvalidRequirement, UnsupportedRequirement
from advisor.request import (
    AdviceRequest,
    IndexOptions,
    InputFile,
    RequirementLine,
    apply_overrides,
    load_request,
    normalize_requirement,
    parse_requirements_file,
    request_digest,
)
from tests.support.dists import make_sdist, make_wheel

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SHA_A = "a" * 64
SHA_B = "b" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(
    tmp_path: Path, inputs: Sequence[str] = ("requirements.in",), **kwargs: object
) -> AdviceRequest:
    return load_request([Path(p) for p in inputs], cwd=tmp_path, **kwargs)  # type: ignore[arg-type]


def reqs(lines: Sequence[RequirementLine]) -> list[str]:
    return [str(line.requirement) for line in lines]


def origins(lines: Sequence[RequirementLine]) -> list[str]:
    return [line.origin for line in lines]


def test_public_surface() -> None:
    assert sorted(request_module.__all__) == [
        "AdviceRequest",
        "IndexOptions",
        "InputFile",
        "RequirementLine",
        "apply_overrides",
        "load_request",
        "load_resolvable",
        "lock_inputs",
        "normalize_requirement",
        "parse_requirements_file",
        "read_constraint_files",
        "request_digest",
    ]


def test_pip_s_constraint_files_join_what_is_resolved_not_what_is_asked(tmp_path: Path) -> None:
    """:func:`load_resolvable`: the request (a lock's digest) is the inputs alone; what is
    resolved adds the constraint files of pip's configuration as ``-c`` files; their lines
    are returned to be recorded; without such files both are the same request."""
    from advisor.request import load_resolvable

    (tmp_path / "requirements.in").write_text("numpy\n")
    (tmp_path / "mine.txt").write_text("numpy<3\n")
    (tmp_path / "site.txt").write_text("numpy<2\nscipy<2\n")
    asked, resolved, lines = load_resolvable(
        [Path("requirements.in")],
        constraints=[tmp_path / "mine.txt"],
        pip_constraints=[str(tmp_path / "site.txt")],
        pip_source="/etc/pip.conf",
        environ={},
        cwd=tmp_path,
    )
    assert [str(c.requirement) for c in asked.constraints] == ["numpy<3"]
    assert [str(c.requirement) for c in resolved.constraints] == ["numpy<3", "numpy<2", "scipy<2"]
    assert [str(c.requirement) for c in lines] == ["numpy<2", "scipy<2"]
    assert asked.requirements == resolved.requirements
    alone = load_resolvable([Path("requirements.in")], environ={}, cwd=tmp_path)
    assert alone[0] is alone[1] and alone[2] == ()


# ---------------------------------------------------------------- requirements files: syntax


def test_comments_blank_lines_continuations_markers_extras(tmp_path: Path) -> None:
    write(
        tmp_path / "requirements.in",
        """\
        # a comment
        requests[socks,Security] >= 2.0   # trailing comment

        numpy>=1.0,\\
          <2 ; python_version >= "3.10"
        \tclick
        # a comment ending in a backslash does not continue \\
        rich
        """,
    )
    request = load(tmp_path)
    assert reqs(request.requirements) == [
        "requests[Security,socks]>=2.0",
        'numpy<2,>=1.0; python_version >= "3.10"',
        "click",
        "rich",
    ]
    assert origins(request.requirements) == [
        "requirements.in:2",
        "requirements.in:4",
        "requirements.in:6",
        "requirements.in:8",
    ]
    assert request.files == (InputFile(path="requirements.in", role="requirements"),)
    assert request.root == tmp_path.absolute().as_posix()


def test_hash_inside_a_token_is_not_a_comment(tmp_path: Path) -> None:
    wheel_url = "https://files.example/pkgs/demo-1.0-py3-none-any.whl#sha256=" + SHA_A
    write(tmp_path / "requirements.in", f"demo @ {wheel_url}  # pinned\nclick\n")
    request = load(tmp_path)
    assert request.requirements[0].requirement.url == wheel_url
    assert reqs(request.requirements)[1] == "click"


def test_continued_line_reports_its_first_line(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\nfoo >= \\\n  1.0 \\\n  !!!\n")
    with pytest.raises(InvalidRequirement) as info:
        load(tmp_path)
    assert info.value.path == "requirements.in"
    assert info.value.line == 2
    assert str(info.value).startswith("requirements.in:2: invalid requirement")


def test_trailing_backslash_at_end_of_file(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click \\")
    assert reqs(load(tmp_path).requirements) == ["click"]


def test_crlf_and_bom(tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_bytes(b"\xef\xbb\xbfclick\r\nrich\r\n")
    assert reqs(load(tmp_path).requirements) == ["click", "rich"]


def test_empty_file_gives_empty_request(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "\n# nothing\n")
    assert load(tmp_path).requirements == ()


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_bytes(b"click\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"requirements.in: not UTF-8"):
        load(tmp_path)


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope.txt: no such file"):
        load(tmp_path, ["nope.txt"])


def test_directory_as_input(tmp_path: Path) -> None:
    (tmp_path / "dir.in").mkdir()
    with pytest.raises(InputError, match=r"dir.in: is a directory"):
        load(tmp_path, ["dir.in"])


def test_no_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no input given"):
        load_request([], cwd=tmp_path)


def test_malformed_requirement(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\n\nfoo ==== 1\n")
    with pytest.raises(InvalidRequirement) as info:
        load(tmp_path)
    assert (info.value.path, info.value.line) == ("requirements.in", 3)
    assert "foo ==== 1" in str(info.value)


def test_absolute_input_inside_cwd_is_shown_relative(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "requirements.in", "click\n")
    request = load_request([tmp_path / "sub" / "requirements.in"], cwd=tmp_path)
    assert request.files[0].path == "sub/requirements.in"
    assert request.requirements[0].origin == "sub/requirements.in:1"


def test_absolute_input_outside_cwd_stays_absolute(tmp_path: Path) -> None:
    path = write(tmp_path / "a" / "requirements.in", "click\n")
    (tmp_path / "b").mkdir()
    request = load_request([path], cwd=tmp_path / "b")
    assert request.files[0].path == path.as_posix()


# ---------------------------------------------------------------- includes


def test_nested_includes_relative_to_including_file(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-r reqs/base.txt\n--constraint reqs/constraints.txt\nc\n")
    write(tmp_path / "reqs" / "base.txt", "a\n--requirement=more/extra.txt\n")
    write(tmp_path / "reqs" / "more" / "extra.txt", "b\n")
    write(tmp_path / "reqs" / "constraints.txt", "a<3\n-r ../pins.txt\n")
    write(tmp_path / "pins.txt", "b==1.0\n")
    request = load(tmp_path)
    assert reqs(request.requirements) == ["a", "b", "c"]
    assert origins(request.requirements) == [
        "reqs/base.txt:1",
        "reqs/more/extra.txt:1",
        "requirements.in:3",
    ]
    # -r inside a constraints file includes more constraints
    assert reqs(request.constraints) == ["a<3", "b==1.0"]
    assert request.files == (
        InputFile(path="requirements.in", role="requirements"),
        InputFile(path="reqs/base.txt", role="requirements"),
        InputFile(path="reqs/more/extra.txt", role="requirements"),
        InputFile(path="reqs/constraints.txt", role="constraints"),
        InputFile(path="pins.txt", role="constraints"),
    )


def test_diamond_include_is_read_once(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-r a.txt\n-r b.txt\n")
    write(tmp_path / "a.txt", "-r common.txt\n")
    write(tmp_path / "b.txt", "-rcommon.txt\n")
    write(tmp_path / "common.txt", "click\n")
    request = load(tmp_path)
    assert reqs(request.requirements) == ["click"]
    assert [f.path for f in request.files] == ["requirements.in", "a.txt", "common.txt", "b.txt"]


def test_same_file_as_requirements_and_constraints(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-r pins.txt\n-c pins.txt\n")
    write(tmp_path / "pins.txt", "click==8.0\n")
    request = load(tmp_path)
    assert reqs(request.requirements) == reqs(request.constraints) == ["click==8.0"]


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\n-r a.txt\n")
    write(tmp_path / "a.txt", "# comment\n-r sub/b.txt\n")
    write(tmp_path / "sub" / "b.txt", "-r ../requirements.in\n")
    with pytest.raises(InputError) as info:
        load(tmp_path)
    assert str(info.value) == (
        "include cycle: requirements.in:2 -> a.txt:2 -> sub/b.txt:1 -> requirements.in"
    )


def test_self_include(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-r requirements.in\n")
    with pytest.raises(InputError, match=r"include cycle: requirements.in:1 -> requirements.in"):
        load(tmp_path)


def test_missing_include_names_path_and_including_line(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\n-c sub/missing.txt\n")
    with pytest.raises(InputError) as info:
        load(tmp_path)
    assert str(info.value) == "requirements.in:2: sub/missing.txt: no such file"


def test_include_by_file_url(tmp_path: Path) -> None:
    base = write(tmp_path / "elsewhere" / "base.txt", "click\n")
    write(tmp_path / "requirements.in", f"-r {base.as_uri()}\n")
    request = load(tmp_path)
    assert reqs(request.requirements) == ["click"]
    assert request.files[1].path == base.as_posix()


def test_remote_include_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-r https://example.invalid/reqs.txt\n")
    with pytest.raises(UnsupportedRequirement, match="remote requirement files"):
        load(tmp_path)


def test_pyproject_cannot_be_included(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n")
    write(tmp_path / "requirements.in", "-r pyproject.toml\n")
    with pytest.raises(InvalidRequirement, match="pass it as an input"):
        load(tmp_path)


# ---------------------------------------------------------------- options


def test_index_options(tmp_path: Path) -> None:
    (tmp_path / "reqs" / "wheels").mkdir(parents=True)
    write(tmp_path / "requirements.in", "-i https://u:p@idx.example/simple\n-r reqs/more.txt\n")
    write(
        tmp_path / "reqs" / "more.txt",
        """\
        --index-url=https://u:p@idx.example/simple
        --extra-index-url https://extra.example/simple --extra-index-url https://x2.example/s
        -f wheels
        --find-links=https://links.example/
        --no-index
        --trusted-host extra.example:8080
        --pre
        --only-binary :all: --only-binary=Foo_Bar,baz
        --no-binary :none:
        --extra-index-url https://extra.example/simple
        """,
    )
    options = load(tmp_path).index_options
    assert options == IndexOptions(
        index_url="https://u:p@idx.example/simple",
        extra_index_urls=("https://extra.example/simple", "https://x2.example/s"),
        find_links=((tmp_path / "reqs" / "wheels").as_uri(), "https://links.example/"),
        no_index=True,
        trusted_hosts=("extra.example:8080",),
        pre=True,
        only_binary=(":all:", "foo-bar", "baz"),
        no_binary=(":none:",),
    )


def test_short_option_with_attached_value(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-ihttps://idx.example/simple\n")
    assert load(tmp_path).index_options.index_url == "https://idx.example/simple"


def test_local_index_url_is_a_file_url(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "--index-url ./local-index\n")
    url = load(tmp_path).index_options.index_url
    assert url == (tmp_path / "local-index").as_uri()


def test_conflicting_index_urls(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-i https://user:secret@a.example/simple\n-r b.txt\n")
    write(tmp_path / "b.txt", "\n-i https://b.example/simple\n")
    with pytest.raises(InputError) as info:
        load(tmp_path)
    message = str(info.value)
    assert message.startswith("b.txt:2: --index-url https://b.example/simple conflicts")
    assert "requirements.in:1" in message
    assert "secret" not in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--extra-index x", "unknown option --extra-index; did you mean --extra-index-url?"),
        ("--frobnicate", "unknown option --frobnicate (supported: "),
        ("-x foo", "unknown option -x"),
        ("--index-url", "--index-url needs a value"),
        ("--index-url=", "--index-url needs a non-empty value"),
        ("--pre=yes", "--pre takes no value"),
        ("-r a.txt b.txt", "unexpected argument 'b.txt'"),
        ("--find-links 'unclosed", "cannot split options"),
        ("click --pre", "--pre cannot follow a requirement"),
        ("--hash=sha256:" + SHA_A, "--hash must follow a requirement"),
        ("click --hash=sha256", "--hash must be <algorithm>:<hex digest>"),
        ("click --hash=md5:" + "a" * 32, "unsupported hash algorithm 'md5'"),
        ("click --hash=sha256:abc", "sha256 digest must be 64 hex digits"),
        ("click --hash=sha256:" + "z" * 64, "sha256 digest must be 64 hex digits"),
        ("--only-binary 'not a name!'", "--only-binary takes project names"),
        ("--trusted-host https://x.example/", "--trusted-host takes a host[:port]"),
    ],
)
def test_option_errors_name_option_and_line(tmp_path: Path, line: str, expected: str) -> None:
    write(tmp_path / "requirements.in", f"click\n{line}\n")
    with pytest.raises(InvalidRequirement) as info:
        load(tmp_path)
    assert (info.value.path, info.value.line) == ("requirements.in", 2)
    assert expected in str(info.value)


def test_hashes(tmp_path: Path) -> None:
    write(
        tmp_path / "requirements.in",
        f"""\
        click==8.1.7 \\
            --hash=sha256:{SHA_B} \\
            --hash=SHA256:{SHA_A.upper()} \\
            --hash sha512:{"c" * 128} \\
            --hash=sha256:{SHA_B}
        rich
        """,
    )
    first, second = load(tmp_path).requirements
    assert first.hashes == (("sha256", SHA_A), ("sha256", SHA_B), ("sha512", "c" * 128))
    assert first.origin == "requirements.in:1"
    assert second.hashes == ()
    assert second.origin == "requirements.in:6"


def test_environment_variables_only_from_explicit_mapping(tmp_path: Path) -> None:
    write(
        tmp_path / "requirements.in",
        "--extra-index-url https://${TOKEN}@idx.example/${lower}/simple\nclick${MISSING}\n",
    )
    with pytest.raises(InvalidRequirement):  # ${MISSING} stays literal: not a requirement
        load(tmp_path, environ={"TOKEN": "t0k"})
    write(
        tmp_path / "requirements.in",
        "--extra-index-url https://${TOKEN}@idx.example/${lower}/simple\nclick==${VERSION}\n",
    )
    request = load(tmp_path, environ={"TOKEN": "t0k", "VERSION": "8.0", "lower": "no"})
    assert request.index_options.extra_index_urls == ("https://t0k@idx.example/${lower}/simple",)
    assert reqs(request.requirements) == ["click==8.0"]
    write(tmp_path / "requirements.in", "--extra-index-url https://${TOKEN}@idx.example/simple\n")
    unexpanded = load(tmp_path)  # no environ: nothing is expanded
    assert unexpanded.index_options.extra_index_urls == ("https://${TOKEN}@idx.example/simple",)


def test_credentials_are_redacted_from_errors(tmp_path: Path) -> None:
    write(
        tmp_path / "requirements.in",
        "demo @ https://${TOKEN}@files.example/demo-1.0.txt\n",
    )
    with pytest.raises(InvalidRequirement) as info:
        load(tmp_path, environ={"TOKEN": "user:hunter2"})
    assert "hunter2" not in str(info.value)
    assert "***@files.example" in str(info.value)


# ---------------------------------------------------------------- refused forms


@pytest.mark.parametrize(
    "line",
    [
        "-e .",
        "--editable=./src",
        "-e git+https://example.invalid/repo.git#egg=x",
        "git+https://example.invalid/repo.git",
        "demo @ git+https://example.invalid/repo.git@main",
        "demo[extra] @ git+ssh://git@example.invalid/repo.git",
        "demo @ hg+https://example.invalid/repo",
        "svn+https://example.invalid/repo",
        "demo @ bzr+https://example.invalid/repo",
        "git://example.invalid/repo.git",
    ],
)
def test_vcs_and_editable_are_unsupported(tmp_path: Path, line: str) -> None:
    write(tmp_path / "requirements.in", f"click\n{line}\n")
    with pytest.raises(UnsupportedRequirement) as info:
        load(tmp_path)
    assert info.value.line == 2
    assert "not supported" in str(info.value)


@pytest.mark.parametrize("line", [".", "./pkg", "pkg/", "demo @ file://{pkg}", "demo @ ./pkg"])
def test_local_directory_is_unsupported(tmp_path: Path, line: str) -> None:
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "requirements.in", line.format(pkg=(tmp_path / "pkg").as_posix()) + "\n")
    with pytest.raises(UnsupportedRequirement, match="local directories"):
        load(tmp_path)


# ---------------------------------------------------------------- direct references


def test_named_url_reference_is_kept(tmp_path: Path) -> None:
    url = "https://files.example/demo-1.0.tar.gz"
    write(tmp_path / "requirements.in", f'demo[x] @ {url} ; python_version >= "3"\n')
    (line,) = load(tmp_path).requirements
    assert line.requirement.url == url
    assert line.requirement.extras == {"x"}
    assert str(line.requirement.marker) == 'python_version >= "3"'


def test_bare_url_gets_name_from_filename(tmp_path: Path) -> None:
    url = "https://files.example/p/Demo_Pkg-1.0-py3-none-any.whl"
    write(tmp_path / "requirements.in", f"{url}[Extra] ; sys_platform == 'linux'\n")
    (line,) = load(tmp_path).requirements
    assert str(line.requirement) == f'demo-pkg[Extra] @ {url} ; sys_platform == "linux"'


def test_relative_paths_become_absolute_file_urls(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "reqs" / "dist", name="demo", version="1.0")
    sdist = make_sdist(tmp_path / "reqs" / "dist", name="other-pkg", version="2.0")
    write(
        tmp_path / "reqs" / "requirements.in",
        f"""\
        ./dist/{wheel.name}
        dist/{sdist.name}[fast] ; python_version > "3"
        named @ ./dist/{wheel.name}
        demo @ {wheel.as_uri()}
        """,
    )
    with pytest.raises(InvalidRequirement, match="is a distribution of 'demo', not 'named'"):
        load(tmp_path, ["reqs/requirements.in"])
    text = (tmp_path / "reqs" / "requirements.in").read_text().replace("named @", "demo @")
    (tmp_path / "reqs" / "requirements.in").write_text(text)
    lines = load(tmp_path, ["reqs/requirements.in"]).requirements
    assert [str(line.requirement) for line in lines] == [
        f"demo @ {wheel.as_uri()}",
        f'other-pkg[fast] @ {sdist.as_uri()} ; python_version > "3"',
        f"demo @ {wheel.as_uri()}",
        f"demo @ {wheel.as_uri()}",
    ]


def test_bare_archive_name_next_to_the_file(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", name="demo", version="1.0")
    write(tmp_path / "dist" / "requirements.in", f"{wheel.name}\n")
    (line,) = load(tmp_path, ["dist/requirements.in"]).requirements
    assert str(line.requirement) == f"demo @ {wheel.as_uri()}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("./dist/missing-1.0-py3-none-any.whl", "no such file"),
        ("demo @ file:///no/such/demo-1.0.tar.gz", "no such file"),
        ("./dist/demo.tgz", "cannot read a project name from 'demo.tgz'"),
        ("demo @ https://files.example/download?id=3", "must point to a wheel or a source"),
        ("demo @ ftp://files.example/demo-1.0.tar.gz", "unsupported URL scheme 'ftp'"),
        ("demo @ file://server/share/demo-1.0.tar.gz", "file URLs with a host"),
        ("https://files.example/other/", "must point to a wheel"),
    ],
)
def test_direct_reference_errors(tmp_path: Path, line: str, expected: str) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "demo.tgz").write_bytes(b"")
    write(tmp_path / "requirements.in", line + "\n")
    with pytest.raises(InvalidRequirement, match=expected) as info:
        load(tmp_path)
    assert not isinstance(info.value, UnsupportedRequirement)
    assert info.value.line == 1


def test_archive_like_project_name_is_a_name_when_no_such_file(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "foo.zip>=1\nbar.whl\n")
    assert reqs(load(tmp_path).requirements) == ["foo.zip>=1", "bar.whl"]


def test_marker_with_slash_is_not_a_path(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", 'demo>=1;platform_release=="a/b"\n')
    assert load(tmp_path).requirements[0].requirement.name == "demo"


# ---------------------------------------------------------------- constraints and overrides


def test_constraints_and_overrides(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\nrich[jupyter]\n")
    write(tmp_path / "constraints.txt", f"click<9 --hash=sha256:{SHA_A}\n")
    write(tmp_path / "overrides.txt", "rich==13.0 ; python_version >= '3.8'\n-r more.txt\n")
    write(tmp_path / "more.txt", "click>=8\n")
    request = load(
        tmp_path, constraints=[Path("constraints.txt")], overrides=[Path("overrides.txt")]
    )
    assert reqs(request.constraints) == ["click<9"]
    assert request.constraints[0].hashes == (("sha256", SHA_A),)
    assert reqs(request.overrides) == ['rich==13.0; python_version >= "3.8"', "click>=8"]
    assert [(f.path, f.role) for f in request.files] == [
        ("requirements.in", "requirements"),
        ("constraints.txt", "constraints"),
        ("overrides.txt", "overrides"),
        ("more.txt", "overrides"),
    ]


def test_constraint_with_extras_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-c constraints.txt\n")
    write(tmp_path / "constraints.txt", "click\nrich[jupyter]<14\n")
    with pytest.raises(InvalidRequirement, match="constraint cannot name extras") as info:
        load(tmp_path)
    assert (info.value.path, info.value.line) == ("constraints.txt", 2)


def test_pyproject_as_constraints_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\n")
    write(tmp_path / "c" / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(InputError, match="constraints must be a requirements file"):
        load(tmp_path, constraints=[Path("c/pyproject.toml")])


def test_apply_overrides() -> None:
    overrides = (
        RequirementLine(requirement=Requirement("Rich==13.0"), origin="o.txt:1"),
        RequirementLine(requirement=Requirement("rich<12 ; os_name == 'nt'"), origin="o.txt:2"),
        RequirementLine(requirement=Requirement("other"), origin="o.txt:3"),
    )
    original = Requirement("rich[jupyter]>=14 ; python_version >= '3.9'")
    assert [str(r) for r in apply_overrides(original, overrides)] == [
        'Rich[jupyter]==13.0; python_version >= "3.9"',
        'rich[jupyter]<12; python_version >= "3.9" and os_name == "nt"',
    ]
    untouched = Requirement("click")
    assert apply_overrides(untouched, overrides) == (untouched,)
    assert [str(r) for r in apply_overrides(Requirement("other[x]"), overrides)] == ["other[x]"]


def test_parse_requirements_file_roles(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "click<9\n")
    request = parse_requirements_file(path, role="constraints", cwd=tmp_path)
    assert request.requirements == ()
    assert reqs(request.constraints) == ["click<9"]
    with pytest.raises(ValueError, match="unknown role"):
        parse_requirements_file(path, role="pyproject")


# ---------------------------------------------------------------- pyproject.toml

PYPROJECT = """\
[project]
name = "My_Project"
requires-python = ">= 3.10"
dependencies = [
    "click>=8",
    "rich ; python_version >= '3.11'",
]

[project.optional-dependencies]
Fast = ["orjson"]
test = ["pytest", "my-project[fast]"]
all = ["my_project[test]"]

[dependency-groups]
Lint = ["ruff"]
typing = ["mypy", {include-group = "lint"}]
dev = [{include-group = "typing"}, "my-project[Fast] ; os_name == 'posix'", "ipython"]
"""


def test_pyproject_dependencies(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    request = load(tmp_path, ["pyproject.toml"])
    assert reqs(request.requirements) == ["click>=8", 'rich; python_version >= "3.11"']
    assert set(origins(request.requirements)) == {"pyproject.toml [project.dependencies]"}
    assert request.requires_python == ">=3.10"
    assert request.project_name == "My_Project"
    assert request.files == (InputFile(path="pyproject.toml", role="pyproject"),)


def test_pyproject_extras_with_self_references(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    request = load(tmp_path, ["pyproject.toml"], extras=["ALL", "fast"])
    assert reqs(request.requirements) == [
        "click>=8",
        'rich; python_version >= "3.11"',
        "pytest",
        "orjson",
    ]
    assert origins(request.requirements)[2:] == [
        "pyproject.toml [project.optional-dependencies] test",
        "pyproject.toml [project.optional-dependencies] Fast",
    ]
    assert request.extras == ("all", "fast")


def test_pyproject_groups_with_includes(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    request = load(tmp_path, ["pyproject.toml"], groups=["Dev"])
    lines = [(str(line.requirement), line.origin) for line in request.requirements]
    assert lines == [
        ("click>=8", "pyproject.toml [project.dependencies]"),
        ('rich; python_version >= "3.11"', "pyproject.toml [project.dependencies]"),
        ("mypy", "pyproject.toml [dependency-groups] typing"),
        ("ruff", "pyproject.toml [dependency-groups] Lint"),
        # "my-project[Fast]" in a group brings the project's dependencies and the extra,
        # under the entry's marker
        ('click>=8; os_name == "posix"', "pyproject.toml [project.dependencies]"),
        (
            'rich; os_name == "posix" and python_version >= "3.11"',
            "pyproject.toml [project.dependencies]",
        ),
        ('orjson; os_name == "posix"', "pyproject.toml [project.optional-dependencies] Fast"),
        ("ipython", "pyproject.toml [dependency-groups] dev"),
    ]
    assert request.groups == ("dev",)


def test_groups_without_project_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[dependency-groups]\ntest = ['pytest']\n")
    request = load(tmp_path, ["pyproject.toml"], groups=["test"])
    assert reqs(request.requirements) == ["pytest"]
    assert request.project_name is None
    assert request.requires_python is None


def test_two_pyprojects_intersect_requires_python(tmp_path: Path) -> None:
    write(tmp_path / "a" / "pyproject.toml", "[project]\nname='a'\nrequires-python='>=3.9'\n")
    write(tmp_path / "b" / "pyproject.toml", "[project]\nname='b'\nrequires-python='<3.13'\n")
    request = load(tmp_path, ["a/pyproject.toml", "b/pyproject.toml", "a/pyproject.toml"])
    assert request.requires_python == "<3.13,>=3.9"
    assert request.project_name == "a"
    assert [f.path for f in request.files] == ["a/pyproject.toml", "b/pyproject.toml"]


def test_pyproject_and_requirements_together(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='a'\ndependencies=['click']\n")
    write(tmp_path / "requirements.in", "rich\n")
    request = load(tmp_path, ["pyproject.toml", "requirements.in"])
    assert reqs(request.requirements) == ["click", "rich"]


def test_pyproject_direct_reference(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", name="demo", version="1.0")
    write(
        tmp_path / "pyproject.toml",
        f"[project]\nname='a'\ndependencies=['demo @ {wheel.as_uri()}']\n",
    )
    assert load(tmp_path, ["pyproject.toml"]).requirements[0].requirement.url == wheel.as_uri()


@pytest.mark.parametrize(
    ("toml", "kwargs", "expected"),
    [
        (
            "[project]\nname='x'\ndynamic=['dependencies']\n",
            {},
            "declares its dependencies as dynamic",
        ),
        (
            "[project]\nname='x'\ndynamic=['optional-dependencies']\n",
            {"extras": ["a"]},
            "optional-dependencies as dynamic",
        ),
        (PYPROJECT, {"extras": ["nope"]}, "unknown extra 'nope' .*has: all, fast, test"),
        (
            "[project]\nname='x'\n",
            {"extras": ["nope"]},
            r"unknown extra 'nope' \(project.optional-dependencies has: none are defined",
        ),
        (PYPROJECT, {"groups": ["nope"]}, r"unknown dependency group 'nope' .*dev, lint, typing"),
        (
            "[dependency-groups]\na=[{include-group='missing'}]\n",
            {"groups": ["a"]},
            r"unknown dependency group 'missing' \(included from 'a'\)",
        ),
        (
            "[dependency-groups]\na=[{include-group='b'}]\nb=[{include-group='A'}]\n",
            {"groups": ["a"]},
            "dependency groups include each other: a -> b -> a",
        ),
        (
            "[dependency-groups]\na=[{include='b'}]\n",
            {"groups": ["a"]},
            'entries must be requirement strings or {include-group = "name"}',
        ),
        (
            "[dependency-groups]\nFoo=['x']\nfoo=['y']\n",
            {"groups": ["foo"]},
            "'Foo' and 'foo' have the same normalised name",
        ),
        ("[dependency-groups]\na='x'\n", {"groups": ["a"]}, "dependency-groups.a must be an array"),
        ("dependency-groups=1\n", {"groups": ["a"]}, r"\[dependency-groups\] must be a table"),
        ("[tool.x]\n", {}, r"no \[project\] table"),
        ("project=1\n", {}, r"\[project\] must be a table"),
        ("[project]\nname=1\n", {}, "project.name must be a string"),
        ("[project]\ndependencies='click'\n", {}, "project.dependencies must be an array"),
        ("[project]\ndependencies=[1]\n", {}, "project.dependencies must be an array"),
        ("[project]\nrequires-python=3\n", {}, "requires-python must be a string"),
        ("[project]\nrequires-python='3.x'\n", {}, "is not a version specifier"),
        ("[project]\noptional-dependencies=[]\n", {}, "optional-dependencies must be a table"),
        ("[project]\nname='x'\ndependencies=['x']\n", {}, "dependencies names the project"),
        ("[project]\ndynamic='x'\n", {}, "project.dynamic must be an array"),
        ("[project]\nname = 'x'\nname = 'y'\n", {}, r"pyproject.toml:3: invalid TOML"),
        ("[project\n", {}, r"pyproject.toml:1: invalid TOML"),
    ],
)
def test_pyproject_errors(
    tmp_path: Path, toml: str, kwargs: Mapping[str, Sequence[str]], expected: str
) -> None:
    write(tmp_path / "pyproject.toml", toml)
    with pytest.raises(InputError, match=expected):
        load(tmp_path, ["pyproject.toml"], **kwargs)


def test_pyproject_bad_requirement_names_its_line(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        "[project]\nname='x'\ndependencies = [\n  'ok',\n  'b@d!',\n]\n",
    )
    with pytest.raises(InvalidRequirement) as info:
        load(tmp_path, ["pyproject.toml"])
    assert (info.value.path, info.value.line) == ("pyproject.toml", 5)


def test_pyproject_vcs_dependency_is_unsupported(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        "[project]\nname='x'\ndependencies=['y @ git+https://example.invalid/y.git']\n",
    )
    with pytest.raises(UnsupportedRequirement, match="VCS references"):
        load(tmp_path, ["pyproject.toml"])


def test_extras_need_a_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "click\n")
    with pytest.raises(InputError, match=r"no pyproject\.toml was given"):
        load(tmp_path, extras=["test"])
    with pytest.raises(InputError, match="'a b' is not a valid dependency group name"):
        load(tmp_path, groups=["a b"])


# ---------------------------------------------------------------- digest

BASE = f"""\
--index-url https://idx.example/simple
-r base.txt
click>=8.0
requests[socks,security]>=2 ; python_version >= "3.10"
numpy==1.26.4 --hash=sha256:{SHA_A}
"""

BASE_EDITED = f"""\
# edited: comments, blank lines, whitespace, order, continuations, spelling
-r   base.txt   # the base

numpy == 1.26.4 \\
    --hash=sha256:{SHA_A.upper()}
Requests [ Security , SOCKS ] >= 2 ;python_version>='3.10'
--index-url   https://idx.example/simple
click >= 8.0
"""


def digest_of(directory: Path, **extra: object) -> str:
    return request_digest(load(directory), extra=extra)


def test_digest_ignores_comments_whitespace_and_order(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", "rich\n")
    write(tmp_path / "requirements.in", BASE)
    before = digest_of(tmp_path)
    assert len(before) == 64
    write(tmp_path / "requirements.in", BASE_EDITED)
    assert digest_of(tmp_path) == before
    write(tmp_path / "base.txt", "# new comment\n\n  rich  \n")
    assert digest_of(tmp_path) == before


@pytest.mark.parametrize(
    "change",
    [
        lambda d: write(d / "base.txt", "rich<14\n"),
        lambda d: write(d / "requirements.in", BASE.replace("8.0", "8.1")),
        lambda d: write(d / "requirements.in", BASE.replace(SHA_A, SHA_B)),
        lambda d: write(d / "requirements.in", BASE.replace("socks,", "")),
        lambda d: write(d / "requirements.in", BASE.replace("3.10", "3.11")),
        lambda d: write(d / "requirements.in", BASE.replace("idx.example", "other.example")),
        lambda d: write(d / "requirements.in", BASE + "--pre\n"),
        lambda d: write(d / "requirements.in", BASE + "-c base.txt\n"),
    ],
)
def test_digest_changes_with_meaning(tmp_path: Path, change: object) -> None:
    write(tmp_path / "base.txt", "rich\n")
    write(tmp_path / "requirements.in", BASE)
    before = digest_of(tmp_path)
    change(tmp_path)  # type: ignore[operator]
    assert digest_of(tmp_path) != before


def test_digest_covers_extra_and_ignores_credentials(tmp_path: Path) -> None:
    write(tmp_path / "requirements.in", "-i https://alice:pw1@idx.example/simple\nclick\n")
    first = digest_of(tmp_path, targets=["linux"])
    assert digest_of(tmp_path, targets=["windows"]) != first
    write(tmp_path / "requirements.in", "-i https://bob:pw2@idx.example/simple\nclick\n")
    assert digest_of(tmp_path, targets=["linux"]) == first
    with pytest.raises(TypeError):
        digest_of(tmp_path, unserialisable=object())


def test_digest_independent_of_checkout_location(tmp_path: Path) -> None:
    digests = []
    for checkout in ("one", "two/deeper"):
        root = tmp_path / checkout
        wheel = make_wheel(root / "dist", name="demo", version="1.0")
        (root / "wheels").mkdir()
        write(root / "requirements.in", f"-f ./wheels\n./dist/{wheel.name}\n")
        digests.append(request_digest(load(root), extra={}))
    assert digests[0] == digests[1]


def test_digest_independent_of_working_directory(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    wheel = make_wheel(tmp_path / "wheels", name="demo", version="1.0")
    write(project / "requirements.in", f"-f ../wheels\n-r sub/base.txt\n../wheels/{wheel.name}\n")
    write(project / "sub" / "base.txt", "click\n")
    from_parent = load_request([Path("proj/requirements.in")], cwd=tmp_path)
    from_project = load_request([Path("requirements.in")], cwd=project)
    assert from_parent.files[1].path == "proj/sub/base.txt"
    assert from_project.files[1].path == "sub/base.txt"
    assert request_digest(from_parent, extra={}) == request_digest(from_project, extra={})
    by_hand = AdviceRequest(requirements=from_project.requirements, files=from_project.files)
    assert request_digest(by_hand, extra={}) != request_digest(from_project, extra={})


def test_digest_covers_pyproject_selection(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    plain = request_digest(load(tmp_path, ["pyproject.toml"]), extra={})
    with_extra = request_digest(load(tmp_path, ["pyproject.toml"], extras=["fast"]), extra={})
    with_group = request_digest(load(tmp_path, ["pyproject.toml"], groups=["lint"]), extra={})
    assert len({plain, with_extra, with_group}) == 3


def test_normalize_requirement() -> None:
    req = Requirement("Foo_Bar [B, a] >= 1.0 , < 2 ; python_version>'3'")
    assert normalize_requirement(req) == 'foo-bar[a,b]<2,>=1.0 ; python_version > "3"'
    url = Requirement("x @ https://u:p@h.example/x-1.0.tar.gz")
    assert normalize_requirement(url) == "x @ https://h.example/x-1.0.tar.gz"
    local = Requirement("x @ file:///srv/proj/dist/x-1.0.tar.gz#sha256=" + SHA_A)
    assert (
        normalize_requirement(local, root="/srv/proj") == "x @ ./dist/x-1.0.tar.gz#sha256=" + SHA_A
    )
    assert normalize_requirement(local, root="/srv/other") == (
        "x @ ../proj/dist/x-1.0.tar.gz#sha256=" + SHA_A
    )
    assert normalize_requirement(local).startswith("x @ file:///srv/proj/dist/")


# ---------------------------------------------------------------- properties

_settings = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(text=st.text(max_size=300))
def test_arbitrary_text_gives_a_request_or_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "requirements.in"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        request = load_request([Path("requirements.in")], cwd=tmp_path)
    except InputError as exc:
        assert str(exc)
    else:
        assert isinstance(request, AdviceRequest)
        request_digest(request, extra={})


_LINE_CHARS = st.sampled_from(
    [*list("abcxyz019-_.[],;<>=!~@ #\\\t'\""), "-r ", "--hash=", "git+", " @ ", "\n", "${X}"]
)


@_settings
@given(text=st.lists(_LINE_CHARS, max_size=60).map("".join))
def test_requirement_like_text_gives_a_request_or_an_input_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "requirements.in").write_text(text, encoding="utf-8")
    try:
        load_request([Path("requirements.in")], cwd=tmp_path, environ={"X": "1"})
    except InputError:
        pass


_NAMES = st.sampled_from(["click", "Rich", "numpy", "zope.interface", "typing_extensions"])
_SPECS = st.sampled_from(["", ">=1.0", "==2.1.*", "<3,>=1", "~=1.4", "!=1.5"])
_MARKERS = st.sampled_from(["", "python_version >= '3.10'", "sys_platform == 'linux'"])
_REQUIREMENT = st.builds(
    lambda name, spec, marker: name + spec + (f" ; {marker}" if marker else ""),
    _NAMES,
    _SPECS,
    _MARKERS,
)
_NOISE = st.sampled_from(["", "   ", "\t", "  # a comment", " #", "\n# full line\n", "\n\n"])


@_settings
@given(
    lines=st.lists(_REQUIREMENT, min_size=1, max_size=8),
    noise=st.lists(_NOISE, min_size=8, max_size=8),
    included=st.lists(_REQUIREMENT, min_size=1, max_size=4),
    changed=_REQUIREMENT,
)
def test_digest_properties(
    tmp_path: Path, lines: list[str], noise: list[str], included: list[str], changed: str
) -> None:
    write(tmp_path / "sub" / "inc.txt", "\n".join(included) + "\n")
    write(tmp_path / "requirements.in", "-r sub/inc.txt\n" + "\n".join(lines) + "\n")
    before = digest_of(tmp_path)
    noisy = "\n".join(
        f"{noise[i % len(noise)]}\n{line}{noise[(i + 1) % len(noise)].rstrip(chr(10))}"
        for i, line in enumerate(["-r sub/inc.txt", *reversed(lines)])
    )
    write(tmp_path / "requirements.in", noisy + "\n")
    assert digest_of(tmp_path) == before
    new_included = [*included, changed]
    expected_same = {normalize_requirement(Requirement(r)) for r in [*lines, *included]} == {
        normalize_requirement(Requirement(r)) for r in [*lines, *new_included]
    }
    write(tmp_path / "sub" / "inc.txt", "\n".join(new_included) + "\n")
    assert (digest_of(tmp_path) == before) == expected_same


# ---------------------------------------------------------------- real-world files


def _requirement_sets() -> list[Path]:
    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "requirement-sets"
    return sorted(folder.rglob("*.in")) if folder.is_dir() else []


@pytest.mark.skipif(not _requirement_sets(), reason="shared requirement sets not present")
def test_real_world_requirement_sets_parse_or_refuse_clearly() -> None:
    parsed = 0
    for path in _requirement_sets():
        try:
            request = load_request([path], cwd=path.parent)
        except UnsupportedRequirement as exc:
            assert "VCS references are not supported" in str(exc)
        else:
            parsed += len(request.requirements)
    assert parsed > 1000


def test_a_requirements_lock_is_resolved_again_from_its_inputs(tmp_path: Path) -> None:
    """One rule for ``fix`` and ``check --fix`` (they used to word it apart): the inputs
    given (relative to the current folder), else the ``.in`` beside the lock; the index
    options the lock's own lines name; no input is bad input, worded once."""
    from advisor.check.paths import LockKind
    from advisor.check.run import CheckOptions, _relock_plan, _Run
    from advisor.options.record import lock_request
    from advisor.request import lock_inputs

    lock = write(tmp_path / "proj" / "requirements.txt", "--index-url http://127.0.0.1:9/simple\n")
    write(tmp_path / "web.in", "app\n")
    files, index = lock_inputs(lock, [Path("web.in")], cwd=tmp_path, environ={})
    assert files == [tmp_path / "web.in"] and index.index_url == "http://127.0.0.1:9/simple"
    with pytest.raises(InputError, match=r"requirements\.txt: no input to re-resolve from"):
        lock_inputs(lock, [], cwd=tmp_path, environ={})
    write(tmp_path / "proj" / "requirements.in", "app\n")
    assert lock_inputs(lock, [], cwd=tmp_path, environ={})[0] == [lock.with_suffix(".in")]
    # both callers follow it, with the one message
    (tmp_path / "proj" / "requirements.in").unlink()
    with pytest.raises(InputError, match="no input to re-resolve from"):
        lock_request(lock, [], cwd=tmp_path, environ={})
    run = _Run(opts=CheckOptions(), sources=None, environ={}, cwd=tmp_path, now=None)
    with pytest.raises(InputError, match="no input to re-resolve from"):
        _relock_plan(lock, LockKind.REQUIREMENTS, run)
