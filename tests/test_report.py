"""Reports of an advice: terminal text, Markdown, JSON (with its schema) and ``explain``.

Advice values are built by hand (the search is tested elsewhere). Text, Markdown and the
explanation are compared with golden files in ``tests/golden/report/``; set
``ADVISOR_UPDATE_GOLDEN=1`` to rewrite them (and ``docs/advice-report.schema.json``) after a
deliberate change, then review the diff. A missing golden file fails.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.report import (
    SCHEMA_VERSION,
    advice_json_schema,
    advice_to_dict,
    digest_advice,
    render_advice,
    render_explanation,
)
from advisor.report.json_schema import explanation_json_schema
from advisor.scoring.advice import (
    Advice,
    Alternative,
    KnowledgeCounts,
    PinAdvice,
    StackAdvice,
)
from advisor.scoring.base import Justification, ScoreTerm

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "report"
SCHEMA_FILE = HERE.parent / "docs" / "advice-report.schema.json"
OSV = "https://osv.dev/vulnerability/"
UPDATE = bool(os.environ.get("ADVISOR_UPDATE_GOLDEN"))


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path.name} (ADVISOR_UPDATE_GOLDEN=1 writes it)"
    assert path.read_text(encoding="utf-8") == text + "\n", f"{name} differs:\n{text}"


# -- the advice under test -----------------------------------------------------------------

YOUNG = ScoreTerm(
    unit="stability",
    value=-0.6,
    reason="released 2 days ago, younger than the minimum release age (7 days)",
    evidence="release:idna==3.10",
)
SETTLED = ScoreTerm(unit="stability", value=0.2, reason="released 5 months ago", evidence="")
VULNERABLE = ScoreTerm(
    unit="security",
    value=-1.0,
    reason="affected by GHSA-34jh-p97f-mpxf (fixed in 1.26.19, 2.2.2)",
    evidence=f"{OSV}GHSA-34jh-p97f-mpxf",
)
NO_WHEEL = ScoreTerm(
    unit="build-risk",
    value=-0.5,
    reason="no wheel for the target: needs a build",
    evidence="linux_riscv64",
)
TOO_YOUNG = "stability: released 2 days ago (minimum release age 7 days)"


def _latest() -> StackAdvice:
    return StackAdvice(
        score=-2.1,
        pins=(
            PinAdvice(name="certifi", version="2024.8.30", latest="2024.8.30", score=0.2),
            PinAdvice(name="chardet", version="5.2.0", latest="5.2.0"),
            PinAdvice(name="idna", version="3.10", latest="3.10", score=-0.6, terms=(YOUNG,)),
            PinAdvice(
                name="numpy",
                version="2.1.0",
                latest="2.1.0",
                score=-0.5,
                terms=(NO_WHEEL,),
                direct=True,
                needs_build=True,
            ),
            PinAdvice(name="requests", version="2.31.0", latest="2.31.0", score=0.0, direct=True),
            PinAdvice(
                name="urllib3", version="1.26.18", latest="1.26.18", score=-1.0, terms=(VULNERABLE,)
            ),
        ),
    )


def _best() -> StackAdvice:
    return StackAdvice(
        score=0.9,
        pins=(
            PinAdvice(
                name="certifi",
                version="2024.8.30",
                latest="2024.8.30",
                score=0.2,
                terms=(SETTLED,),
            ),
            PinAdvice(
                name="idna",
                version="3.7",
                latest="3.10",
                score=0.2,
                terms=(SETTLED,),
                alternatives=(
                    Alternative(version="3.10", score=None, reason=TOO_YOUNG),
                    Alternative(version="3.9", score=None, reason=TOO_YOUNG),
                    Alternative(version="3.8", score=0.1),
                    Alternative(version="3.6", score=None, reason="yanked: broken wheel"),
                ),
            ),
            PinAdvice(
                name="numpy",
                version="2.1.0",
                latest="2.1.0",
                score=-0.5,
                terms=(NO_WHEEL,),
                direct=True,
                needs_build=True,
                alternatives=(Alternative(version="2.0.2", score=-0.5),),
            ),
            PinAdvice(
                name="requests",
                version="2.32.3",
                latest="2.31.0",
                score=0.2,
                terms=(SETTLED,),
                direct=True,
                justifications=(
                    Justification(
                        level="warning",
                        message="GHSA-9wx4-h78v-vm56 waived until 2025-01-01: internal only",
                        unit="security",
                        package="requests",
                        link=f"{OSV}GHSA-9wx4-h78v-vm56",
                    ),
                ),
                alternatives=(Alternative(version="2.31.0", score=0.0),),
            ),
            PinAdvice(
                name="urllib3",
                version="2.2.2",
                latest="1.26.18",
                score=0.2,
                terms=(SETTLED,),
                marker='python_version >= "3.8"',
                alternatives=(
                    Alternative(
                        version="2.2.1",
                        score=None,
                        reason="security: affected by GHSA-34jh-p97f-mpxf",
                    ),
                    Alternative(version="1.26.18", score=-1.0),
                ),
            ),
        ),
        justifications=(
            Justification(
                level="info", message="resolved for one target", unit="search", package=None
            ),
        ),
    )


def _baseline() -> StackAdvice:
    best = _best()
    pins = tuple(
        dataclasses.replace(p, version="3.6", score=2.0) if p.name == "idna" else p
        for p in best.pins
    )
    return StackAdvice(score=1.5, pins=pins)


def _advice(**changes: object) -> Advice:
    advice = Advice(
        recommendation="stable",
        targets=("cp312-manylinux_2_39_riscv64",),
        best=_best(),
        latest=_latest(),
        others=(
            dataclasses.replace(
                _best(),
                score=0.7,
                pins=tuple(
                    dataclasses.replace(p, version="3.8") if p.name == "idna" else p
                    for p in _best().pins
                ),
            ),
        ),
        baseline=_baseline(),
        unknown=("certifi", "chardet"),
        knowledge=KnowledgeCounts(
            packages=5,
            release_facts=3,
            upload_times=2,
            advisories=3,
            observations=1,
            no_release_facts=("certifi", "chardet"),
        ),
        resolutions=7,
        seed=3,
        budget=12,
        elapsed=1.25,
    )
    return dataclasses.replace(advice, **changes)  # type: ignore[arg-type]


def _many(n: int = 100, differ: int = 3, unknown: int = 37) -> Advice:
    """``n`` pins, the first ``differ`` of them at another version than latest's."""
    names = [f"pkg-{i:03d}" for i in range(n)]
    best = StackAdvice(
        score=1.0,
        pins=tuple(
            PinAdvice(
                name=name,
                version="1.0" if i < differ else "2.0",
                latest="2.0",
                score=0.1,
                terms=(SETTLED,),
                alternatives=(Alternative(version="2.0", score=None, reason=TOO_YOUNG),)
                if i < differ
                else (),
            )
            for i, name in enumerate(names)
        ),
    )
    latest = StackAdvice(
        score=-1.0,
        pins=tuple(
            PinAdvice(name=name, version="2.0", latest="2.0", terms=(YOUNG,) if i < differ else ())
            for i, name in enumerate(names)
        ),
    )
    return Advice(
        recommendation="stable",
        targets=("cp312-manylinux_2_39_x86_64",),
        best=best,
        latest=latest,
        unknown=tuple(names[-unknown:]),
        resolutions=12,
        budget=12,
        elapsed=3.5,
    )


# -- text and Markdown ---------------------------------------------------------------------


def test_text_golden() -> None:
    _golden("advice.txt", render_advice(_advice(), fmt="text"))


def test_text_verbose_golden() -> None:
    _golden("advice-verbose.txt", render_advice(_advice(), fmt="text", verbose=True))


def test_markdown_golden() -> None:
    _golden("advice.md", render_advice(_advice(), fmt="md"))


def test_text_says_what_differs_and_why() -> None:
    text = render_advice(_advice(), fmt="text")
    assert "4 pins differ from latest" in text  # chardet is dropped
    # only pins that differ from latest: certifi and numpy are the same
    assert "certifi" not in text.split("Warnings")[0].split("pins differ")[1]
    assert "GHSA-34jh-p97f-mpxf" in text and f"{OSV}GHSA-34jh-p97f-mpxf" in text
    assert "security -1.00" in text and "stability" in text
    assert "chardet" in text and "dropped" in text
    assert "numpy" in text and "built from source" in text  # the needs-build warning
    assert "idna: version 3.9 removed" in text  # newer versions removed by a filter
    assert text.count("3.10: removed: stability") == 1  # latest's version said once
    assert "3.6" not in text.split("Removed candidates")[1]  # older ones do not matter
    assert (
        "knowledge: release facts for 3 of 5 (upload times for 2; none for certifi, chardet), "
        "advisories checked for 3 (no advisory data loaded: advisor knowledge update), "
        "observations for 1; nothing known about 2 packages (certifi, chardet): scored neutral"
    ) in " ".join(text.split())
    assert " ".join(text.split()).count("nothing known about") == 1 and "no knowledge" not in text
    assert "your lock: score +1.50; this advice changes 1 pin" in text
    assert "\x1b" not in text


def test_worse_than_baseline_is_said_explicitly() -> None:
    for fmt in ("text", "md"):
        report = render_advice(_advice(), fmt=fmt)
        assert "lower than your lock".casefold() in report.casefold()
    assert advice_to_dict(_advice())["summary"]["worse_than_baseline"] is True  # type: ignore[index]
    better = _advice(baseline=dataclasses.replace(_baseline(), score=0.5))
    assert "lower than your lock" not in render_advice(better, fmt="text").casefold()
    assert digest_advice(better).worse_than_baseline is False


def test_rejected_baseline_and_no_baseline() -> None:
    rejected = _advice(baseline=dataclasses.replace(_baseline(), score=float("-inf")))
    text = render_advice(rejected, fmt="text")
    assert "your lock rejected" in text and "LOWER" not in text
    data = json.loads(render_advice(rejected, fmt="json"))
    assert data["baseline"]["score"] is None and data["summary"]["worse_than_baseline"] is False
    plain = render_advice(_advice(baseline=None), fmt="text")
    assert "your lock" not in plain


def test_nothing_differs() -> None:
    latest = _latest()
    same = _advice(best=latest, others=(), baseline=None, unknown=())
    text = render_advice(same, fmt="text")
    assert "every pin is stable's and latest's choice alike" in text
    assert "0 differ from latest" in text
    assert "changes nothing" in render_advice(same, fmt="md")


def test_hundred_pins_fit_on_a_screen() -> None:
    advice = _many()
    text = render_advice(advice, fmt="text")
    lines = text.splitlines()
    assert len(lines) <= 40, text
    assert "3 pins differ from latest" in text
    assert "nothing known about 37 packages" in text
    assert "100 packages" in lines[-1] and "3 differ from latest" in lines[-1]
    assert "pkg-050" not in text  # an unchanged pin is not listed
    assert max(len(line) for line in lines) <= 100


def test_verbose_shows_every_pin() -> None:
    advice = _many()
    text = render_advice(advice, fmt="text", verbose=True)
    for pin in advice.best.pins:
        assert pin.name in text
    assert "All 100 pins" in text
    verbose = render_advice(_advice(), fmt="text", verbose=True)
    assert "3.6 removed: yanked" in verbose  # every alternative
    assert "resolved for one target" in verbose  # info justifications
    assert "Other stacks found" in verbose and "idna 3.7 → 3.8" in verbose


def test_markdown_is_a_comment() -> None:
    md = render_advice(_advice(), fmt="md")
    assert md.startswith("### Stack advice: stable for `cp312-manylinux_2_39_riscv64`")
    assert "| Package | Latest | Advised | Why |" in md
    assert "<details>" in md and "</details>" in md and "All 5 pins" in md
    assert f"[evidence]({OSV}GHSA-34jh-p97f-mpxf)" in md
    assert "\x1b" not in md
    # every pin in the collapsed list, only the differing ones in the summary table
    summary = md.split("<details>")[0]
    assert "`certifi`" not in summary.split("#### Warnings")[0]
    assert "`certifi`" in md.split("<details>")[1]


def test_markdown_escapes_untrusted_text() -> None:
    nasty = ScoreTerm(unit="prescription", value=-0.3, reason="a | b <script> *x*", evidence="")
    best = dataclasses.replace(
        _best(),
        pins=tuple(
            dataclasses.replace(p, terms=(nasty,)) if p.name == "idna" else p for p in _best().pins
        ),
    )
    md = render_advice(_advice(best=best), fmt="md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    row = next(line for line in md.splitlines() if line.startswith("| `idna`"))
    assert row.count(" | ") == 3  # the pipe inside the reason is escaped


def test_unknown_format() -> None:
    with pytest.raises(InputError, match="unknown report format"):
        render_advice(_advice(), fmt="html")  # type: ignore[arg-type]


def test_deterministic() -> None:
    for fmt in ("text", "md", "json"):
        assert render_advice(_advice(), fmt=fmt) == render_advice(_advice(), fmt=fmt)


# -- JSON and its schema -------------------------------------------------------------------


def _validate(value: object, schema: dict[str, object], root: dict[str, object], at: str) -> None:
    """A tiny JSON Schema check: $ref, anyOf, type, const, enum, minimum, properties,
    required, additionalProperties: false, items. Enough for the report's schema."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        defs = root["$defs"]
        assert isinstance(defs, dict)
        _validate(value, defs[ref.rpartition("/")[2]], root, at)
        return
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        errors = []
        for option in any_of:
            try:
                _validate(value, option, root, at)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{at}: matches no option: {errors}")
    kinds = schema.get("type")
    allowed = [kinds] if isinstance(kinds, str) else list(kinds or [])  # type: ignore[call-overload]
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    assert allowed, f"{at}: schema without a type"
    assert any(checks[k](value) for k in allowed), f"{at}: {value!r} is not {allowed}"
    if "const" in schema:
        assert value == schema["const"], f"{at}: {value!r} != {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{at}: {value!r} not in {schema['enum']}"  # type: ignore[operator]
    if "minimum" in schema and isinstance(value, int | float):
        assert value >= schema["minimum"], f"{at}: {value} < minimum"  # type: ignore[operator]
    if isinstance(value, dict):
        props = schema["properties"]
        assert isinstance(props, dict)
        missing = set(schema.get("required", ())) - set(value)  # type: ignore[call-overload]
        assert not missing, f"{at}: missing {sorted(missing)}"
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(props)
            assert not extra, f"{at}: unexpected {sorted(extra)}"
        for key, item in value.items():
            _validate(item, props[key], root, f"{at}.{key}")
    if isinstance(value, list):
        items = schema["items"]
        assert isinstance(items, dict)
        for i, item in enumerate(value):
            _validate(item, items, root, f"{at}[{i}]")


def validate(value: object, schema: dict[str, object]) -> None:
    _validate(value, schema, schema, "$")


def test_json_validates_against_the_schema() -> None:
    schema = advice_json_schema()
    for advice in (_advice(), _advice(baseline=None, others=()), _many()):
        text = render_advice(advice, fmt="json")
        data = json.loads(text)
        validate(data, schema)
        assert data["schema_version"] == SCHEMA_VERSION == 1
    # the validator does catch a broken document
    bad = json.loads(render_advice(_advice(), fmt="json"))
    del bad["best"]["pins"][0]["terms"]
    with pytest.raises(AssertionError, match="missing"):
        validate(bad, schema)
    bad = json.loads(render_advice(_advice(), fmt="json"))
    bad["best"]["pins"][0]["extra"] = 1
    with pytest.raises(AssertionError, match="unexpected"):
        validate(bad, schema)


def test_json_has_every_field_regardless_of_verbose() -> None:
    advice = _advice()
    data = json.loads(render_advice(advice, fmt="json", verbose=False))
    assert list(data) == [
        "schema_version",
        "recommendation",
        "targets",
        "summary",
        "best",
        "latest",
        "others",
        "baseline",
        "unknown",
        "knowledge",
        "workload",
        "resolutions",
        "seed",
        "budget",
        "elapsed",
        "verified",
        "lessons",
    ]
    assert data["verified"] is None and data["lessons"] == []  # --verify was not asked
    assert len(data["best"]["pins"]) == 5 and len(data["latest"]["pins"]) == 6
    idna = next(p for p in data["best"]["pins"] if p["name"] == "idna")
    assert idna["differs"] is True and idna["latest"] == "3.10"
    assert idna["alternatives"][0] == {"version": "3.10", "score": None, "reason": TOO_YOUNG}
    assert data["summary"]["differing_from_latest"] == ["chardet", "idna", "requests", "urllib3"]
    assert data["summary"]["changed_from_baseline"] == 1
    assert data["best"]["justifications"][0]["package"] is None
    assert data["elapsed"] == 1.25 and data["seed"] == 3


def test_json_performance_terms_carry_effect_interval_and_counts() -> None:
    faster = ScoreTerm(
        unit="performance",
        value=0.24,
        reason="pandas 3.1.0 is 12% faster on groupby (95% CI 8-15%, 15 vs 15 runs)",
        evidence="performance:abc",
        effect=0.12,
        ci=(0.08, 0.15),
        n=(15, 15),
    )
    pin = PinAdvice(name="pandas", version="3.1.0", latest="3.1.0", terms=(faster, SETTLED))
    stack = StackAdvice(score=0.5, pins=(pin,))
    advice = Advice(recommendation="performance", targets=("t",), best=stack, latest=stack)
    data = json.loads(render_advice(advice, fmt="json"))
    validate(data, advice_json_schema())
    measured, other = data["best"]["pins"][0]["terms"]
    assert (measured["effect"], measured["ci"], measured["n"]) == (0.12, [0.08, 0.15], [15, 15])
    assert (other["effect"], other["ci"], other["n"]) == (None, None, None)
    with pytest.raises(ValueError, match="low, high"):
        ScoreTerm(unit="performance", value=0.1, reason="r", ci=(0.2, 0.1))


def test_schema_covers_the_contract() -> None:
    """A field added to the advice types shows up here until the report and schema carry it."""
    from advisor.scoring.advice import Advice as A

    schema = advice_json_schema()
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    pairs = [
        (A, schema),
        (StackAdvice, defs["stack"]),
        (PinAdvice, defs["pin"]),
        (Alternative, defs["alternative"]),
        (ScoreTerm, defs["term"]),
        (Justification, defs["justification"]),
    ]
    for cls, part in pairs:
        fields = {f.name for f in dataclasses.fields(cls)}
        assert fields <= set(part["properties"]), cls.__name__


def test_committed_schema_is_generated() -> None:
    text = json.dumps(advice_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.exists(), "docs/advice-report.schema.json missing (ADVISOR_UPDATE_GOLDEN=1)"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, (
        "docs/advice-report.schema.json is stale: ADVISOR_UPDATE_GOLDEN=1 regenerates it"
    )


# -- explain -------------------------------------------------------------------------------

PATHS = [["urllib3"], ["requests", "urllib3"], ["botocore", "urllib3"], ["a", "b", "urllib3"]]


def _urllib3() -> PinAdvice:
    pin = _best().pin("urllib3")
    assert pin is not None
    return pin


def test_explain_golden() -> None:
    text = render_explanation("urllib3", paths=PATHS, pin=_urllib3(), version="2.2.2", fmt="text")
    _golden("explain.txt", text)
    assert "requests → urllib3" in text and "urllib3 (a direct requirement)" in text
    assert "latest would pick 1.26.18" in text
    assert "2.2.1    removed: security: affected by GHSA-34jh-p97f-mpxf" in text
    assert "1.26.18  -1.00" in text


def test_explain_short_and_unscored() -> None:
    many = [[f"p{i}", "x"] for i in range(40)]
    text = render_explanation("x", paths=many, pin=None, version="1.0", fmt="text")
    assert len(text.splitlines()) < 20
    assert "… and 28 more" in text and "not scored" in text
    orphan = render_explanation("x", paths=[], pin=None, version="1.0", fmt="text")
    assert "no requirement of the inputs leads to it" in orphan


def test_explain_json() -> None:
    data = json.loads(
        render_explanation("urllib3", paths=PATHS, pin=_urllib3(), version="2.2.2", fmt="json")
    )
    validate(data, explanation_json_schema())
    assert data["paths"] == PATHS and data["pin"]["latest"] == "1.26.18"
    empty = json.loads(render_explanation("x", paths=[], pin=None, version="1", fmt="json"))
    validate(empty, explanation_json_schema())
    with pytest.raises(InputError):
        render_explanation("x", paths=[], pin=None, version="1", fmt="md")  # type: ignore[arg-type]


def test_stack_terms_and_markdown_verbose() -> None:
    clash = ScoreTerm(
        unit="prescriptions",
        value=-0.4,
        reason="numpy 2 with an old compiled extension",
        evidence="knowledge/prescriptions/numpy.yaml",
    )
    advice = _advice(best=dataclasses.replace(_best(), stack_terms=(clash,)))
    text = render_advice(advice, fmt="text")
    assert "Stack checks" in text and "prescriptions -0.40: numpy 2 with an old" in text
    md = render_advice(advice, fmt="md", verbose=True)
    assert "#### Stack checks" in md and "| Alternatives |" in md
    assert "| Alternatives |" not in render_advice(advice, fmt="md")


def test_text_lines_are_clean() -> None:
    for verbose in (False, True):
        for advice in (_advice(), _many()):
            text = render_advice(advice, fmt="text", verbose=verbose, width=100)
            for line in text.splitlines():
                assert line == line.rstrip() and len(line) <= 100
    narrow = render_advice(_advice(), fmt="text", width=60)
    assert max(len(line) for line in narrow.splitlines()) <= 60


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_advice_read_back_from_json_renders_the_same(fmt: str) -> None:
    """A team server's advice travels as this JSON: read back, it renders as the advice
    itself does (a rejected stack's -inf score included)."""
    from advisor.report.json import advice_from_dict

    rejected = dataclasses.replace(_best(), score=float("-inf"))
    for advice in (_advice(), _advice(baseline=None, others=(rejected,))):
        data = json.loads(json.dumps(advice_to_dict(advice)))
        again = advice_from_dict(data)
        assert advice_to_dict(again) == advice_to_dict(advice)
        assert render_advice(again, fmt=fmt, verbose=True) == render_advice(
            advice, fmt=fmt, verbose=True
        )


def test_lock_json_names_the_lock_made_and_its_text_only_when_asked() -> None:
    """``advisor lock --json`` (:func:`advisor.report.lock.lock_json`) of a real outcome."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from advisor.models import Pin, Resolution
    from advisor.options.outcomes import LockOutcome
    from advisor.report.lock import lock_json

    pin = Pin(name=canonicalize_name("a"), version=Version("1.0"), marker='python_version >= "3"')
    made = LockOutcome(resolution=Resolution(pins=(pin,)), text="lock\n",
                       path=Path("pylock.toml"), targets=(), digest="sha256:d",
                       warnings=("w",), changed=(("a", None, "1.0"),))  # fmt: skip
    assert lock_json(made, with_text=False) == {
        "path": "pylock.toml",
        "digest": "sha256:d",
        "targets": [],
        "packages": [
            {"name": "a", "version": "1.0", "marker": 'python_version >= "3"', "needs-build": False}
        ],
        "changed": [{"name": "a", "old": None, "new": "1.0"}],
        "warnings": ["w"],
    }
    assert lock_json(made, with_text=True)["lock"] == "lock\n"
