"""The knowledge validator: every problem at once, with file, line and field; contradictory
specifiers; the committed JSON Schemas equal freshly generated ones; the repository's own
``knowledge/`` folder is valid."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from advisor.errors import InputError
from advisor.knowledge.json_schemas import json_schemas, write_json_schemas
from advisor.knowledge.validate import is_satisfiable, validate_knowledge

REPO = Path(__file__).resolve().parents[1]


def rule(rule_id: str, **overrides: str) -> str:
    fields = {
        "summary": "A summary.",
        "link": "https://example.org/changelog#1-2",
        "quote": "A quotation.",
        "package": "numpy",
        "specifier": "'<2'",
        "extra_match": "",
        "action": "{kind: filter, message: Removed.}",
    }
    fields.update(overrides)
    return textwrap.dedent(
        f"""\
        - id: {rule_id}
          summary: {fields["summary"]}
          link: {fields["link"]}
          quote: {fields["quote"]}
          match:
            package: {fields["package"]}
            specifier: {fields["specifier"]}
        """
    ) + (
        textwrap.indent(textwrap.dedent(fields["extra_match"]), "    ")
        + f"  action: {fields['action']}\n"
    )


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def found(root: Path) -> list[tuple[str, int, str, str]]:
    return [(Path(p.file).name, p.line, p.field, p.message) for p in validate_knowledge(root)]


def fields_of(root: Path) -> list[tuple[str, int, str]]:
    return [(f, line, field) for f, line, field, _ in found(root)]


def test_a_valid_folder_has_no_problems(tmp_path: Path) -> None:
    write(tmp_path, "prescriptions/ok.yaml", rule("ok-1") + rule("ok-2", specifier="'>=1.0rc1'"))
    assert found(tmp_path) == []


@pytest.mark.parametrize(
    "spec", [">=2,<1", "==1.0,!=1.0", "<1,>1", ">1.0,<1.0.post1", ">=1.0rc1,<1.0", "==1.*,>=2"]
)
def test_contradictory_specifiers_are_reported(tmp_path: Path, spec: str) -> None:
    write(tmp_path, "prescriptions/r.yaml", rule("r", specifier=f"'{spec}'"))
    ((file, line, field, message),) = found(tmp_path)
    assert (file, line, field) == ("r.yaml", 7, "match.specifier")
    assert "contradicts itself" in message


def test_every_problem_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "prescriptions/a.yaml",
        rule("dup")
        + rule("empty-spec", specifier="''")
        + rule("bad-spec", specifier="'>=>1'")
        + rule("score-missing", action="{kind: score, message: m}")
        + rule("score-range", action="{kind: score, score: 1.5, message: m}")
        + rule("score-unused", action="{kind: filter, score: 0.5, message: m}")
        + rule("ftp-link", link="ftp://example.org/notes")
        + rule("index-page", link="https://index.example/project/numpy/2.0.0/")
        + rule("no-quote", quote="'  '")
        + rule(
            "env",
            extra_match="""\
            environment:
              python: ">=3.13,<3.12"
              os: solaris
              libc: uclibc
              platform: manylinux_2_17_sparc
              recommendation_types: [stable, fastest]
            co_installed:
              - {package: scipy, specifier: "<1,>2"}
            """,
        ),
    )
    write(tmp_path, "prescriptions/b.yaml", rule("dup"))
    write(
        tmp_path,
        "images/bad.toml",
        'name = "x"\nbase_image = "b"\npython = "2.7"\nplatform = "manylinux_2_17_x86"\n'
        'requirements = ["numpy>=2,<1", "not a req!"]\n',
    )
    write(
        tmp_path,
        "observations/o.jsonl",
        '{"type": "build", "package": "numpy", "version": "1.26.4", "outcome": "failed",'
        ' "log_excerpt": "see https://ci.example/log in /home/alice/build"}\n',
    )
    problems = found(tmp_path)
    by_field: dict[tuple[str, str], tuple[int, str]] = {}
    for file, line, field, msg in problems:
        by_field.setdefault((file, field), (line, msg))  # the first one (lowest line)
    expected_lines = {  # each rule() is 8 lines; "env" has 8 more
        ("a.yaml", "match.specifier"): 15,  # empty-spec (bad-spec at 23)
        ("a.yaml", "action.score"): 32,  # score-missing (score-range 40, score-unused 48)
        ("a.yaml", "link"): 51,  # ftp-link (index-page at 59)
        ("a.yaml", "quote"): 68,
        ("a.yaml", "match.environment.python"): 81,
        ("a.yaml", "match.environment.os"): 82,
        ("a.yaml", "match.environment.libc"): 83,
        ("a.yaml", "match.environment.platform"): 84,
        ("a.yaml", "match.environment.recommendation_types[1]"): 85,
        ("a.yaml", "match.co_installed[0].specifier"): 87,
        ("b.yaml", "id"): 1,
        ("bad.toml", "python"): 3,
        ("bad.toml", "platform"): 4,
        ("bad.toml", "requirements[0]"): 5,
        ("bad.toml", "requirements[1]"): 5,
        ("o.jsonl", "log_excerpt"): 1,
    }
    for key, line in expected_lines.items():
        assert key in by_field, key
        assert by_field[key][0] == line, (key, by_field[key])
    messages = [msg for *_, msg in problems]
    assert sum("empty specifier" in m for m in messages) == 1
    assert sum("invalid specifier" in m for m in messages) == 1
    assert any("needs a score" in m for m in messages)
    assert any("outside [-1, 1]" in m for m in messages)
    assert any("only used by kind 'score'" in m for m in messages)
    assert any("not an http(s) URL" in m for m in messages)
    assert any("project page" in m for m in messages)
    assert any("empty quote" in m for m in messages)
    assert any("unknown os 'solaris'" in m for m in messages)
    assert any("unknown libc 'uclibc'" in m for m in messages)
    assert any("unknown architecture 'sparc'" in m for m in messages)
    assert any("unknown recommendation type 'fastest'" in m for m in messages)
    assert any("rule id already defined at" in m and "a.yaml:1" in m for m in messages)
    assert any("unknown Python version '2.7'" in m for m in messages)
    assert sum("the log excerpt contains" in m for m in messages) == 2  # URL and home path
    assert len(problems) == 21
    raw = validate_knowledge(tmp_path)
    assert raw == sorted(raw, key=lambda p: (p.file, p.line, p.field, p.message))


def test_single_file_and_missing_path(tmp_path: Path) -> None:
    path = write(tmp_path, "prescriptions/r.yaml", rule("r", specifier="'<1,>1'"))
    assert [p.field for p in validate_knowledge(path)] == ["match.specifier"]
    with pytest.raises(InputError, match="no such knowledge folder"):
        validate_knowledge(tmp_path / "nothing")


def test_performance_and_image_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "observations/p.jsonl",
        json.dumps(
            {
                "type": "performance",
                "version": "1.0",
                "probe": "import",
                "metric": "time",
                "value": 0.5,
                "unit": "s",
                "repeats": 0,
                "environment": {"python": "3.12", "platform": "win_amd63"},
            }
        )
        + "\n",
    )
    write(
        tmp_path,
        "images/i.toml",
        '[[image]]\nname = "a b"\nbase_image = "img"\npython = "3.12"\nplatform = "any"\n'
        'extra_index_urls = ["https://u:p@idx.example/simple"]\n[image.env]\n"1BAD" = "x"\n',
    )
    assert fields_of(tmp_path) == [
        ("i.toml", 2, "name"),
        ("i.toml", 6, "extra_index_urls[0]"),
        ("i.toml", 8, "env.1BAD"),
        ("p.jsonl", 1, "environment.platform"),
        ("p.jsonl", 1, "package"),
        ("p.jsonl", 1, "repeats"),
        ("p.jsonl", 1, "version"),
    ]


# -- satisfiability ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", True),
        (">=1,<2", True),
        ("==1.0", True),
        ("==1.0+local", True),
        ("~=1.4.2,<1.5", True),
        ("~=1.4.2,>=1.5", False),
        ("==1.*,!=1.*", False),
        (">1.0,<1.0.0.1", True),  # 1.0.0.0.0.1 fits
        (">1.0,<=1.0.post1", False),  # ">1.0" excludes post-releases of 1.0
        (">1.0.post0,<=1.0.post1", True),  # unless it names one itself
        (">1.0,<1.0.post1", False),  # only post-releases of 1.0 lie between: excluded
        (">=1.0rc1,<1.0", False),  # "<1.0" excludes pre-releases of 1.0
        (">=1.0rc1,<1.0rc2", True),
        (">=2.0.0.dev0,<2", False),  # only pre-releases of 2 lie between: "<2" excludes them
        (">=2.0.0.dev0,<=2", True),
        ("!=1.0", True),
        ("===foo", True),
        ("<0", False),  # below 0 lie only pre-releases of 0
        ("<0.1", True),
        ("<0.dev0", False),
        ("<1!0.dev0,>=1!1", False),
        (">=1!0", True),
    ],
)
def test_is_satisfiable(spec: str, expected: bool) -> None:
    assert is_satisfiable(spec) is expected


_POOL = [
    Version(f"{a}.{b}{suffix}")
    for a in range(3)
    for b in range(3)
    for suffix in ("", ".dev0", "a1", "rc1", ".post1", ".1", "+local")
]
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="])
_CLAUSE = st.tuples(_OPS, st.sampled_from(_POOL)).map(
    lambda t: f"{t[0]}{t[1]}" if t[0] in ("==", "!=") or not t[1].local else f"{t[0]}{t[1].public}"
)


@settings(max_examples=300)
@given(st.lists(_CLAUSE, min_size=1, max_size=3))
def test_never_calls_a_satisfiable_specifier_contradictory(clauses: list[str]) -> None:
    """A brute-force witness among many versions means ``is_satisfiable`` must say True."""
    try:
        spec = SpecifierSet(",".join(clauses))
    except ValueError:
        return  # e.g. "~=1" or a local version with an ordering operator
    witness = any(spec.contains(v, prereleases=True) for v in _POOL)
    if witness:
        assert is_satisfiable(spec)


# -- schemas and the repository's folder -----------------------------------------------------


def test_committed_schemas_equal_generated_ones() -> None:
    folder = REPO / "knowledge" / "schema"
    for name, text in json_schemas().items():
        committed = folder / name
        assert committed.is_file(), f"{committed} missing: run write_json_schemas"
        assert committed.read_text(encoding="utf-8") == text, (
            f"{committed} is stale: regenerate with advisor.knowledge.json_schemas."
            "write_json_schemas(Path('knowledge/schema'))"
        )


def test_schema_descriptions_do_not_depend_on_docstring_indentation() -> None:
    # msgspec copies docstrings verbatim or cleaned depending on its version and Python's
    # (3.13 strips indentation at compile time): the generator normalises them itself.
    def descriptions(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [v for k, v in node.items() if k == "description" and isinstance(v, str)]
            return own + [d for v in node.values() for d in descriptions(v)]
        if isinstance(node, list):
            return [d for v in node for d in descriptions(v)]
        return []

    found = [d for text in json_schemas().values() for d in descriptions(json.loads(text))]
    assert found, "the schemas carry the types' docstrings as descriptions"
    assert [d for d in found if d != inspect.cleandoc(d)] == []
    assert any("\n" in d for d in found)  # multi-line docstrings are among them


def test_write_json_schemas(tmp_path: Path) -> None:
    paths = write_json_schemas(tmp_path / "schema")
    assert sorted(p.name for p in paths) == [
        "image.schema.json",
        "observation.schema.json",
        "prescription.schema.json",
    ]
    rule_schema = json.loads((tmp_path / "schema" / "prescription.schema.json").read_text())
    body = rule_schema["$defs"]["Prescription"]
    assert "provenance" not in body["properties"] and "type" not in body["properties"]
    assert body["additionalProperties"] is False
    assert "Provenance" not in rule_schema["$defs"]
    shared = json.loads((tmp_path / "schema" / "observation.schema.json").read_text())
    assert "provenance" not in shared["$defs"]["BuildObservation"]["required"]


def test_the_repository_knowledge_folder_is_valid() -> None:
    folder = REPO / "knowledge"
    if not folder.is_dir():
        pytest.skip("no knowledge/ folder in this checkout")
    assert [str(p) for p in validate_knowledge(folder)] == []
