"""The advised runtime (``advisor advise --compare-env``): one advice per runtime, compared.

A fixture index where the fixed release of ``lib`` needs Python 3.12: under 3.11 the stack
keeps the release an advisory affects, so 3.12 is advised and 3.11 is said to lose ``lib``
2.0 and to carry the advisory. Pure parts (parsing, the comparable score) are tested on
values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from advisor.advice.runtimes import (
    RuntimeChoice,
    RuntimeOutcome,
    compare_runtimes,
    parse_runtime,
    parse_runtimes,
)
from advisor.errors import InputError
from advisor.report.runtimes import runtime_comparison_json_schema
from advisor.scoring.advice import Advice, KnowledgeCounts, PinAdvice, StackAdvice
from advisor.scoring.base import ScoreTerm
from tests.functional.helpers import clean_environ, run_cli
from tests.support import IndexServer, Project, build_index, release
from tests.test_report import _validate

if TYPE_CHECKING:
    from collections.abc import Iterator

OLD = datetime(2024, 1, 1, tzinfo=UTC)


def test_parse_runtime_takes_configured_names_first_then_python_versions() -> None:
    assert parse_runtime("gpu", known={"gpu"}) == RuntimeChoice(label="gpu", env="gpu")
    assert parse_runtime("py312", known=()).python == "3.12"
    assert parse_runtime("3.11", known=()).python == "3.11"
    assert parse_runtime("python3.13", known=()).python == "3.13"
    with pytest.raises(InputError, match="not a configured environment"):
        parse_runtime("jupyter", known={"gpu"})
    image = RuntimeChoice(label="image:slim", python="3.12", platform="manylinux_2_36_x86_64")
    assert parse_runtime("image:slim", known=(), images={"slim": image}) == image
    with pytest.raises(InputError, match=r"no such image recipe \(slim\)"):
        parse_runtime("image:fat", known=(), images={"slim": image})


@dataclass(frozen=True)
class _Recipe:
    """What an image recipe tells of its runtime (a ``RuntimeSource``)."""

    name: str
    python: str = "3.12"
    platform: str = "manylinux_2_36_x86_64"
    implementation: str = "cp"
    cuda: str | None = None


def test_parse_runtimes_reads_the_recipes_once_and_only_for_an_image() -> None:
    """Reading the recipes decodes a folder of files (and fails without one): a comparison of
    Python versions never reads them, one naming images reads them once."""
    reads: list[int] = []

    def recipes() -> list[_Recipe]:
        reads.append(1)
        return [_Recipe(name="slim"), _Recipe(name="gpu", cuda="12.4")]

    plain = parse_runtimes(["py311", "3.12"], known=(), recipes=recipes)
    assert [c.python for c in plain] == ["3.11", "3.12"] and reads == []
    named = parse_runtimes(["image:gpu", "3.11", "image:slim"], known=(), recipes=recipes)
    assert [c.label for c in named] == ["image:gpu", "3.11", "image:slim"]
    assert (named[0].cuda, named[2].platform) == ("12.4", "manylinux_2_36_x86_64")
    assert reads == [1]
    with pytest.raises(InputError, match=r"no such image recipe \(gpu, slim\)"):
        parse_runtimes(["3.11", "image:fat"], known=(), recipes=recipes)


def _advice(pins: dict[str, float], *, unit: str = "stability") -> Advice:
    """A stack whose pin ``name`` scores ``score``, from one term of ``unit`` (weight 1)."""

    def pin(name: str, score: float) -> PinAdvice:
        terms = (ScoreTerm(unit=unit, value=score, reason=f"{unit} says so"),) if score else ()
        return PinAdvice(name=name, version="1", score=score, terms=terms)

    stack = StackAdvice(score=sum(pins.values()), pins=tuple(pin(n, s) for n, s in pins.items()))
    counts = KnowledgeCounts(
        packages=len(pins), release_facts=len(pins), upload_times=0, advisories=0,
        observations=0,
    )  # fmt: skip
    return Advice(recommendation="stable", targets=("t",), best=stack, latest=stack,
                  knowledge=counts)  # fmt: skip


def test_a_package_only_one_runtime_pins_is_not_scored_and_unknown_is_not_a_win() -> None:
    # b pins "extra", scored well; a does not pin it at all: only "x" is compared
    a = RuntimeOutcome(choice=RuntimeChoice(label="a"), advice=_advice({"x": 0.2}))
    b = RuntimeOutcome(choice=RuntimeChoice(label="b"), advice=_advice({"x": 0.1, "extra": 0.9}))
    done = compare_runtimes([a, b], recommendation="stable")
    assert done.recommended == "a"
    assert done.compared == ("x",)
    assert [r.score for r in done.rows] == [pytest.approx(0.2), pytest.approx(0.1)]
    # a tie goes to the side with more evidence (a measured term that applies there)
    c = RuntimeOutcome(choice=RuntimeChoice(label="c"), advice=_advice({"x": 0.0}))
    d = RuntimeOutcome(
        choice=RuntimeChoice(label="d"), advice=_advice({"x": -0.0001}, unit="build_risk")
    )
    assert compare_runtimes([c, d], recommendation="latest").recommended == "c"
    d = RuntimeOutcome(choice=RuntimeChoice(label="d"), advice=_advice({"x": 0.0}))
    assert compare_runtimes([d, c], recommendation="latest").recommended == "d"  # first named


def test_a_bonus_measured_on_one_runtime_only_is_not_compared() -> None:
    """Unknown is not zero: "installed cleanly" measured on a (+0.5) says nothing about b,
    where nobody tried; b's known stability bonus (+0.1) decides."""
    measured = RuntimeOutcome(
        choice=RuntimeChoice(label="a"), advice=_advice({"x": 0.5}, unit="build_risk")
    )
    known = RuntimeOutcome(choice=RuntimeChoice(label="b"), advice=_advice({"x": 0.1}))
    done = compare_runtimes([measured, known], recommendation="latest")
    assert done.recommended == "b"
    assert done.rows[0].score == pytest.approx(0.0)
    assert done.rows[0].total == pytest.approx(0.5)
    assert done.rows[0].one_sided == ("x 1: build_risk says so (build_risk)",)
    assert done.rows[0].observed == 1 and done.rows[1].observed == 0
    # a measured penalty is a fact about that runtime: it counts
    failed = RuntimeOutcome(
        choice=RuntimeChoice(label="a"), advice=_advice({"x": -0.5}, unit="build_risk")
    )
    assert compare_runtimes([failed, known], recommendation="latest").rows[0].score == -0.5
    # measured on both: compared
    both = RuntimeOutcome(
        choice=RuntimeChoice(label="b"), advice=_advice({"x": 0.1}, unit="build_risk")
    )
    assert compare_runtimes([measured, both], recommendation="latest").recommended == "a"
    # a runtime without a stack is never chosen, and its reason is kept
    e = RuntimeOutcome(choice=RuntimeChoice(label="e"), error="no stack")
    done = compare_runtimes([e, known], recommendation="stable")
    assert done.recommended == "b"
    assert done.rows[0].losses == ("no acceptable stack: no stack",)
    with pytest.raises(InputError, match="at least two"):
        compare_runtimes([known], recommendation="stable")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``lib`` 1.0 (any Python) and 2.0 (Python >= 3.12), ``app`` 1.0 (needs lib)."""
    root = tmp_path_factory.mktemp("runtimes")
    projects = [
        Project(name="lib", files=[*release("1.0", upload_time=OLD, sdist=False),
                                   *release("2.0", upload_time=OLD, sdist=False,
                                            requires_python=">=3.12")]),
        Project(name="app", files=[*release("1.0", requires_dist=["lib"], upload_time=OLD,
                                            sdist=False)]),
    ]  # fmt: skip
    with IndexServer(build_index(root / "index", projects)) as server:
        yield server.url


def _pin(row: dict, name: str) -> str:  # type: ignore[type-arg]
    return next(str(p["version"]) for p in row["pins"] if p["name"] == name)


SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "runtime-comparison.schema.json"


def test_the_committed_schema_is_the_code_s() -> None:
    text = json.dumps(runtime_comparison_json_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("ADVISOR_UPDATE_GOLDEN") == "1":
        SCHEMA_FILE.write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, (
        "docs/runtime-comparison.schema.json is stale (ADVISOR_UPDATE_GOLDEN=1 rewrites it)"
    )


def _osv(folder: Path) -> Path:
    folder.mkdir()
    record = {
        "id": "GHSA-test-0001",
        "modified": "2026-01-01T00:00:00Z",
        "summary": "lib before 2.0 leaks",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "lib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }],
    }  # fmt: skip
    (folder / "GHSA-test-0001.json").write_text(json.dumps(record))
    return folder


def test_compare_env_advises_the_runtime_whose_stack_scores_best(site: str, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    osv = _osv(tmp_path / "osv")

    def compare(*extra: str) -> tuple[int, str]:
        result = run_cli(
            ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{tmp_path / 'k.db'}",
             "--osv", osv, "--recommendation", "stable", "--compare-env", "py311",
             "--compare-env", "3.12", *extra],
            env=env,
        )  # fmt: skip
        return result.exit_code, result.stdout

    code, out = compare("--report", "json")
    assert code == 0
    doc = json.loads(out)
    schema = runtime_comparison_json_schema()
    _validate(doc, schema, schema, "$")
    assert doc["recommended"] == "3.12"
    rows = {r["runtime"]: r for r in doc["runtimes"]}
    assert _pin(rows["py311"], "lib") == "1.0"
    assert _pin(rows["3.12"], "lib") == "2.0"
    assert rows["py311"]["score"] < rows["3.12"]["score"]
    assert "lib 1.0 (3.12: 2.0)" in rows["py311"]["losses"]
    assert any("GHSA-test-0001" in loss for loss in rows["py311"]["losses"])
    assert rows["3.12"]["evidence"]["advisories-checked"] == 2
    assert not (tmp_path / "pylock.toml").exists()  # a comparison writes no lock
    code, md = compare("--report", "md")
    assert code == 0
    assert "| **3.12** |" in md and "| runtime | score | evidence | what it loses |" in md
    code, text = compare()
    assert code == 0
    assert text.startswith("Advised runtime (stable): 3.12")
    # --report-file: the comparison in the chosen format goes there, not to stdout
    code, out = compare("--report", "md", "--report-file", str(tmp_path / "compare.md"))
    assert code == 0 and out == ""
    assert (tmp_path / "compare.md").read_text(encoding="utf-8") == md
    code, out = compare("--report-file", "-")  # '-': stdout, as the advice's report
    assert code == 0 and out == text


RECIPE = """name = "slim"
base_image = "python:3.12-slim-bookworm"
python = "3.12"
implementation = "cp"
platform = "manylinux_2_36_x86_64"
"""


def test_compare_env_takes_an_image_recipes_runtime(site: str, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    (knowledge / "images").mkdir(parents=True)
    (knowledge / "images" / "slim.toml").write_text(RECIPE)
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    result = run_cli(
        ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{tmp_path / 'k.db'}",
         "--osv", _osv(tmp_path / "osv"), "--knowledge-dir", knowledge,
         "--compare-env", "3.11", "--compare-env", "image:slim", "--report", "json"],
        env=clean_environ(tmp_path / "home"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["recommended"] == "image:slim"  # its Python 3.12 gets the fixed lib 2.0
    assert {r["runtime"]: _pin(r, "lib") for r in doc["runtimes"]} == {
        "3.11": "1.0",
        "image:slim": "2.0",
    }


def test_compare_env_refuses_an_unknown_runtime(site: str, tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    result = run_cli(
        ["advise", req, "--index-url", site, "--compare-env", "py311", "--compare-env", "lts"],
        env=clean_environ(tmp_path / "home"),
    )
    assert result.exit_code == 2
    assert "not a configured environment" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("compare", "message"),
    [
        (("py311",), "name at least two runtimes"),
        (("py311", " py311"), r"a runtime is named twice \(py311, py311\)"),
    ],
)
def test_compare_env_refuses_one_runtime_before_advising_any(
    site: str, tmp_path: Path, compare: tuple[str, ...], message: str
) -> None:
    """One runtime, or one named twice, is refused before anything is advised: no
    resolution reports progress (the refusal used to come after every runtime's advice),
    not even the inputs are read, and the CLI says so with the usage exit code."""
    from advisor.api import AdviseOptions, LockOptions, ResolveOptions, advise
    from tests.support.events import Recorder

    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    environ = clean_environ(tmp_path / "home")
    events = Recorder()
    knowledge = AdviseOptions(knowledge=f"sqlite:///{tmp_path / 'k.db'}", osv=_osv(tmp_path / "o"))
    with pytest.raises(InputError, match=message):
        advise([req], opts=ResolveOptions(index_url=site), out=LockOptions(), advice=knowledge,
               compare=compare, environ=environ, cwd=tmp_path, events=events)  # fmt: skip
    assert events.calls == []
    with pytest.raises(InputError, match=message):  # refused before the inputs are read
        advise([tmp_path / "missing.in"], opts=ResolveOptions(), out=LockOptions(),
               compare=compare, environ=environ, cwd=tmp_path)  # fmt: skip
    flags = [w for c in compare for w in ("--compare-env", c)]
    result = run_cli(["advise", req, "--index-url", site, *flags], env=environ)
    assert result.exit_code == 2
    assert "--compare-env: " in result.stderr and "Traceback" not in result.stderr


def test_advise_runtimes_keeps_a_runtime_without_a_stack_as_a_row() -> None:
    """The loop of the comparison, below the composition root: each runtime advised in order,
    a :class:`NoViableStack` kept as the row's reason (its first line), any other error
    raised."""
    from advisor.advice.runtimes import advise_runtimes
    from advisor.errors import NoViableStack

    def advise(choice: RuntimeChoice) -> Advice:
        if choice.python == "3.11":
            raise NoViableStack("no stack for 3.11", causes=["lib 2.0 needs Python >= 3.12"])
        if choice.python == "2.7":
            raise InputError("not a runtime")
        return _advice({"lib": 0.5})

    eleven, twelve = RuntimeChoice(label="py311", python="3.11"), RuntimeChoice(label="3.12")
    outcomes = advise_runtimes([eleven, twelve], advise)
    assert [o.choice for o in outcomes] == [eleven, twelve]
    assert (outcomes[0].advice, outcomes[0].error) == (None, "no stack for 3.11")
    assert outcomes[1].advice == _advice({"lib": 0.5}) and outcomes[1].error == ""
    with pytest.raises(InputError):
        advise_runtimes([RuntimeChoice(label="py27", python="2.7")], advise)


def test_image_runtimes_label_each_recipe() -> None:
    from dataclasses import dataclass

    from advisor.advice.runtimes import image_runtimes

    @dataclass(frozen=True)
    class Recipe:  # what a recipe tells of its runtime (ImageRecipe meets the same Protocol)
        name: str
        python: str
        platform: str
        implementation: str = "cp"
        cuda: str | None = None

    recipe = Recipe(name="gpu", python="3.12", platform="p", cuda="12.4")
    assert image_runtimes([recipe]) == {
        "gpu": RuntimeChoice(
            label="image:gpu", python="3.12", platform="p", implementation="cp", cuda="12.4"
        )
    }


def test_advise_compares_runtimes_in_one_call(site: str, tmp_path: Path) -> None:
    """The Python API: ``advise(compare=...)`` is the comparison (one job for the CLI's
    ``--compare-env``), rendered as ``report`` asks and written to its file; nothing is
    locked."""
    from advisor.api import (
        AdviseOptions,
        ComparisonResult,
        LockOptions,
        RecommendationType,
        ReportOptions,
        ResolveOptions,
        advise,
    )
    from advisor.report import ReportFormat

    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    environ = clean_environ(tmp_path / "home")
    opts = ResolveOptions(index_url=site, recommendation=RecommendationType.STABLE)
    knowledge = AdviseOptions(knowledge=f"sqlite:///{tmp_path / 'k.db'}", osv=_osv(tmp_path / "o"))
    report = ReportOptions(format=ReportFormat.JSON, path=tmp_path / "report.json")
    got = advise([req], opts=opts, out=LockOptions(), advice=knowledge, report=report,
                 compare=("py311", "3.12"), environ=environ, cwd=tmp_path)  # fmt: skip
    assert isinstance(got, ComparisonResult)
    assert got.comparison.recommended == "3.12"
    assert json.loads(got.report)["recommended"] == "3.12"
    assert not (tmp_path / "pylock.toml").exists()
    assert (tmp_path / "report.json").read_text() == got.report + "\n"


def test_advise_renders_and_writes_its_report(site: str, tmp_path: Path) -> None:
    """``advise(report=...)``: the advices rendered (one per target) into ``report`` and,
    with a path, written there; without ``report`` nothing is rendered."""
    from advisor.api import (
        AdviceResult,
        AdviseOptions,
        LockOptions,
        ReportOptions,
        ResolveOptions,
        advise,
    )
    from advisor.report import ReportFormat, render_advice

    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    environ = clean_environ(tmp_path / "home")
    opts = ResolveOptions(index_url=site, python="3.12")
    knowledge = AdviseOptions(knowledge=f"sqlite:///{tmp_path / 'k.db'}", osv=_osv(tmp_path / "o"))
    report = ReportOptions(format=ReportFormat.MD, path=tmp_path / "advice.md")
    out = LockOptions(dry_run=True)
    got = advise([req], opts=opts, out=out, advice=knowledge, report=report, environ=environ,
                 cwd=tmp_path)  # fmt: skip
    assert isinstance(got, AdviceResult)
    assert got.report == render_advice(got.advices[0], fmt=ReportFormat.MD)
    assert (tmp_path / "advice.md").read_text() == got.report + "\n"
    plain = advise([req], opts=opts, out=out, advice=knowledge, environ=environ, cwd=tmp_path)
    assert plain.report == "" and plain.lock.path is None
