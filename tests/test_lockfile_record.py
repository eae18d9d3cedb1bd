"""``advisor.lockfile.record``: the lock's ``[tool.advisor]`` as one value, read and written
unchanged.

``tests/golden/lock-record/`` holds locks written by ``advisor lock`` before the record
existed (with the inputs they were made from; never regenerate them): each must read back,
write out the same table byte for byte, give the digest the old code gave, and check
exactly as before. The image goldens are further real locks. Hypothesis checks that any
record survives a TOML round trip.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from advisor.api.checking import CheckOptions, run_check
from advisor.errors import InputError, LockfileError
from advisor.lockfile import (
    IndexRecord,
    InputsRecord,
    InvalidLockToml,
    LockRecord,
    OptionsRecord,
    TargetRecord,
    is_pylock_text,
    read_pylock,
    requirements_header,
)
from advisor.options.record import lock_digest, recorded_request
from advisor.request import load_request

if TYPE_CHECKING:
    from collections.abc import Mapping

GOLDEN = Path(__file__).parent / "golden"
EARLIER = GOLDEN / "lock-record"
EARLIER_CASES = sorted(p.name for p in EARLIER.iterdir() if p.is_dir())
REAL_LOCKS = sorted(GOLDEN.rglob("pylock.toml"))


def raw_table(path: Path) -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))["tool"]["advisor"]
    return table


def toml_section(table: Mapping[str, Any]) -> str:
    """``table`` as the lock writes ``[tool.advisor]`` (keys sorted, 4-space arrays)."""
    ordered = json.loads(json.dumps(table, sort_keys=True))
    return tomli_w.dumps({"tool": {"advisor": ordered}}, indent=4)


def old_digest_fields(table: Mapping[str, Any]) -> dict[str, Any]:
    """What the digest took from the raw table before the record (``lock_digest`` then)."""
    extra = {k: table.get(k) for k in ("index", "targets", "recommendation", "options")}
    configured = table.get("inputs", {}).get("pip-constraints")
    if configured:
        extra["pip-constraints"] = sorted(configured)
    return extra


# --------------------------------------------------------------------------- real locks


def test_the_fixtures_are_there() -> None:
    assert EARLIER_CASES == ["cuda", "old", "opts", "pipc", "py", "stable"]
    assert len(REAL_LOCKS) >= len(EARLIER_CASES) + 5


@pytest.mark.parametrize("path", REAL_LOCKS, ids=lambda p: str(p.relative_to(GOLDEN).parent))
def test_a_real_lock_reads_back_to_the_same_table_and_digest_fields(path: Path) -> None:
    table = raw_table(path)
    record = read_pylock(path).record
    assert record.to_table() == table
    assert record.digest_fields() == old_digest_fields(table)
    assert LockRecord.from_table(record.to_table(), source="again") == record
    # the lock ends with [tool.advisor]: written again, it is the same text
    assert path.read_text(encoding="utf-8").endswith(toml_section(record.to_table()))


@pytest.mark.parametrize("case", EARLIER_CASES)
def test_a_lock_of_an_earlier_version_checks_as_it_did(case: str, tmp_path: Path) -> None:
    folder = tmp_path / case
    shutil.copytree(EARLIER / case, folder)
    lock = folder / "pylock.toml"
    report = run_check([lock], opts=CheckOptions(only=frozenset({"freshness", "hashes"})))
    found = [(f.id, f.level) for f in report.findings]
    if case == "old":  # written before locks recorded their inputs
        assert found == [("lock-unknown-inputs", "warning")]
        return
    assert found == []
    record = read_pylock(lock).record
    files, opts = recorded_request(lock)
    request = load_request(
        files,
        extras=opts.extras,
        groups=opts.groups,
        constraints=opts.constraints,
        overrides=opts.overrides,
        cwd=folder,
    )
    assert lock_digest(request, record) == record.input_digest


def test_a_lock_of_an_earlier_version_goes_stale_when_its_input_changes(tmp_path: Path) -> None:
    folder = tmp_path / "opts"
    shutil.copytree(EARLIER / "opts", folder)
    (folder / "requirements.in").write_text("alpha\nbeta\ngamma\n", encoding="utf-8")
    report = run_check([folder / "pylock.toml"], opts=CheckOptions(only=frozenset({"freshness"})))
    (finding,) = report.findings
    assert finding.id == "lock-stale"
    assert "(+ gamma)" in finding.message


def test_the_record_of_an_earlier_lock_has_typed_values() -> None:
    record = read_pylock(EARLIER / "opts" / "pylock.toml").record
    assert record.recommendation == "latest"
    assert record.index == IndexRecord(
        indexes=("file:///tmp/rec_harness/index/simple/",),
        find_links=(),
        strategy="first-index",
        pinned={},
    )
    assert record.options == OptionsRecord(
        pre=True,
        pre_packages=("beta",),
        only_binary=("alpha",),
        no_build=True,
        exclude_newer="2030-01-01T00:00:00+00:00",
    )
    assert record.inputs == InputsRecord(
        files=("requirements.in",), overrides=("o.txt",), requirements=("alpha", "beta")
    )
    (target,) = record.targets or ()
    assert (target.name, target.platform, target.cuda_version) == (
        "cp311-manylinux_2_28_x86_64",
        "manylinux_2_28_x86_64",
        None,
    )
    stable = read_pylock(EARLIER / "stable" / "pylock.toml").record
    assert set(stable.other) == {"advice"}  # the advice search's table, carried as read
    cuda = read_pylock(EARLIER / "cuda" / "pylock.toml").record
    assert [t.cuda_version for t in cuda.targets or ()] == ["12.4"]
    pipc = read_pylock(EARLIER / "pipc" / "pylock.toml").record
    assert pipc.inputs is not None and pipc.inputs.pip_constraints == ("alpha<2", "gamma==1.0")


def test_recorded_request_maps_the_record_to_options() -> None:
    lock = EARLIER / "opts" / "pylock.toml"
    files, opts = recorded_request(lock)
    assert files == [lock.resolve().parent / "requirements.in"]
    assert (opts.index_url, opts.extra_index_urls, opts.no_index, opts.index_strategy) == (
        "file:///tmp/rec_harness/index/simple/",
        (),
        False,
        "first-index",
    )
    assert (opts.pre, opts.pre_packages, opts.only_binary, opts.no_build) == (
        True,
        ("beta",),
        ("alpha",),
        True,
    )
    assert opts.overrides == (lock.resolve().parent / "o.txt",)
    assert (opts.python, opts.platform, opts.envs) == ("3.11.7", "manylinux_2_28_x86_64", ())
    _, several = recorded_request(EARLIER / "py" / "pylock.toml")
    assert (several.envs, several.python, several.extras, several.groups) == (
        ("one", "two"),
        None,
        ("x",),
        ("g",),
    )
    _, cuda = recorded_request(EARLIER / "cuda" / "pylock.toml")
    assert cuda.cuda == "12.4"
    _, stable = recorded_request(EARLIER / "stable" / "pylock.toml")
    assert (stable.recommendation, stable.python) == ("stable", None)  # host: not pinned
    with pytest.raises(InputError, match="records no inputs"):
        recorded_request(EARLIER / "old" / "pylock.toml")


def test_recorded_request_keeps_the_targets_implementation(tmp_path: Path) -> None:
    # a lock made for PyPy is made again for PyPy (``check --fix``), not for the host's
    # implementation: the recorded target's implementation is an option like its Python
    text = (EARLIER / "opts" / "pylock.toml").read_text(encoding="utf-8")
    assert text.count('implementation = "cp"') == 1
    lock = tmp_path / "pylock.toml"
    lock.write_text(text.replace('implementation = "cp"', 'implementation = "pp"'), "utf-8")
    _, opts = recorded_request(lock)
    assert (opts.implementation, opts.python) == ("pp", "3.11.7")
    _, host = recorded_request(EARLIER / "stable" / "pylock.toml")
    assert host.implementation is None  # a host target: the host it then runs on


# --------------------------------------------------------------------------- old and odd


def test_an_old_table_without_options_and_inputs() -> None:
    table = raw_table(EARLIER / "old" / "pylock.toml")
    assert "options" not in table and "inputs" not in table
    record = LockRecord.from_table(table, source="old")
    assert record.options is None and record.inputs is None
    assert record.to_table() == table
    fields = record.digest_fields()
    assert fields["options"] is None and "pip-constraints" not in fields


def test_absent_keys_of_a_sub_table_read_as_empty_and_stay_absent() -> None:
    table = {"inputs": {"files": ["a.in"]}, "options": {"pre": False, "no-build": False}}
    record = LockRecord.from_table(table, source="x")
    assert record.inputs == InputsRecord(files=("a.in",))
    assert record.options == OptionsRecord()
    assert record.targets is None and record.index is None and record.recommendation is None
    assert record.to_table() == table
    assert record.digest_fields() == {
        "index": None,
        "targets": None,
        "recommendation": None,
        "options": {"pre": False, "no-build": False},
    }


def test_unknown_keys_are_carried_as_read() -> None:
    table = {
        "later": {"x": [1, 2]},
        "index": {
            "indexes": [],
            "find-links": [],
            "strategy": "first-index",
            "pinned": {},
            "mirror": "m",
        },
        "options": {"pre": False, "no-build": False, "no-binary": ["a"]},
        "targets": [{"name": "t", "gpu": "x"}],
        "inputs": {"files": ["a.in"], "lockers": []},
    }
    record = LockRecord.from_table(table, source="x")
    assert record.to_table() == table
    assert record.digest_fields()["options"] == {
        "pre": False,
        "no-build": False,
        "no-binary": ["a"],
    }


def test_a_workload_is_an_option_of_the_digest_and_absent_without_one() -> None:
    table = {"options": {"pre": False, "no-build": False, "workload": "sort"}}
    record = LockRecord.from_table(table, source="x")
    assert record.options == OptionsRecord(workload="sort")
    assert record.to_table() == table
    assert record.digest_fields()["options"] == table["options"]
    assert "workload" not in OptionsRecord().to_table()  # earlier locks keep their digest
    other = LockRecord.from_table(
        {"options": {"pre": False, "no-build": False, "workload": "matmul"}}, source="x"
    )
    assert other.digest_fields() != record.digest_fields()


def test_a_foreign_lock_has_an_empty_record() -> None:
    assert LockRecord.from_table({}, source="x") == LockRecord()
    assert LockRecord().to_table() == {}


def test_the_cooldown_is_written_as_a_number_of_days() -> None:
    assert OptionsRecord(cooldown_days=7.0).to_table()["cooldown-days"] == 7
    assert OptionsRecord(cooldown_days=0.5).to_table()["cooldown-days"] == 0.5
    assert "cooldown-days" not in OptionsRecord().to_table()  # earlier digests unchanged
    table = {"pre": False, "no-build": False, "cooldown-days": 7}
    assert OptionsRecord.from_table(table, source="x").cooldown_days == 7


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"input-digest": 3}, r"'tool\.advisor\.input-digest': expected a string"),
        ({"recommendation": True}, r"'tool\.advisor\.recommendation': expected a string"),
        ({"index": "x"}, r"'tool\.advisor\.index': expected a table"),
        (
            {"index": {"indexes": [], "find-links": [], "pinned": {}}},
            r"'tool\.advisor\.index': missing 'strategy'",
        ),
        (
            {"index": {"indexes": "u", "find-links": [], "strategy": "s", "pinned": {}}},
            r"'tool\.advisor\.index\.indexes': expected an array of strings",
        ),
        (
            {"index": {"indexes": [], "find-links": [], "strategy": "s", "pinned": {"a": 1}}},
            r"'tool\.advisor\.index\.pinned': expected a table of strings",
        ),
        ({"targets": {"name": "x"}}, r"'tool\.advisor\.targets': expected an array of tables"),
        ({"targets": ["x"]}, r"'tool\.advisor\.targets\[0\]': expected a table"),
        (
            {"targets": [{}, {"python_version": 3.12}]},
            r"'tool\.advisor\.targets\[1\]\.python_version': expected a string",
        ),
        ({"options": {"pre": "yes", "no-build": False}}, r"options\.pre': expected true or false"),
        ({"options": {"pre": False}}, r"'tool\.advisor\.options': missing 'no-build'"),
        (
            {"options": {"pre": False, "no-build": False, "cooldown-days": "7"}},
            r"'tool\.advisor\.options\.cooldown-days': expected a number >= 0",
        ),
        (
            {"options": {"pre": False, "no-build": False, "cooldown-days": -1}},
            r"'tool\.advisor\.options\.cooldown-days': expected a number >= 0",
        ),
        (
            {"options": {"pre": False, "no-build": False, "cooldown-days": True}},
            r"'tool\.advisor\.options\.cooldown-days': expected a number >= 0",
        ),
        ({"inputs": {"files": "a.in"}}, r"'tool\.advisor\.inputs\.files': expected an array"),
        ({"inputs": {"extras": [1]}}, r"'tool\.advisor\.inputs\.extras': expected an array"),
    ],
)
def test_a_bad_table_is_refused_naming_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(LockfileError, match=message) as info:
        LockRecord.from_table(table, source="deps/pylock.toml")
    assert str(info.value).startswith("deps/pylock.toml: invalid lock at ")


# --------------------------------------------------------------------------- round trip

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_texts = st.lists(_text, max_size=3).map(tuple)
_names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)


def _other(known: frozenset[str]) -> st.SearchStrategy[dict[str, object]]:
    value = st.one_of(_text, st.integers(-5, 5), st.booleans(), st.lists(_text, max_size=2))
    return st.dictionaries(_names.filter(lambda k: k not in known), value, max_size=2)


_index = st.builds(
    IndexRecord,
    indexes=_texts,
    find_links=_texts,
    strategy=_text,
    pinned=st.dictionaries(_names, _text, max_size=2),
    other=_other(frozenset({"indexes", "find-links", "strategy", "pinned"})),
)
_target = st.builds(
    TargetRecord,
    name=st.none() | _text,
    python_version=st.none() | _text,
    platform=st.none() | _text,
    cuda_version=st.none() | _text,
    other=_other(frozenset({"name", "python_version", "platform", "cuda_version", "abi"})),
)
_options = st.builds(
    OptionsRecord,
    pre=st.booleans(),
    pre_packages=_texts,
    only_binary=_texts,
    no_build=st.booleans(),
    exclude_newer=st.none() | _text.filter(bool),
    cooldown_days=st.none()
    | st.integers(0, 3650)
    | st.floats(0, 3650, allow_nan=False, allow_infinity=False),
    workload=st.none() | _text.filter(bool),
)
_inputs = st.builds(
    InputsRecord,
    files=_texts,
    extras=_texts,
    requirements=_texts,
    pip_constraints=_texts,
)
_records = st.builds(
    LockRecord,
    advisor_version=st.none() | _text,
    input_digest=st.none() | _text,
    recommendation=st.none() | _text,
    index=st.none() | _index,
    targets=st.none() | st.lists(_target, max_size=2).map(tuple),
    options=st.none() | _options,
    inputs=st.none() | _inputs,
    other=_other(frozenset({"advisor-version", "input-digest", "recommendation", "index"})),
)


@given(_records)
def test_any_record_survives_a_toml_round_trip(record: LockRecord) -> None:
    text = toml_section(record.to_table())
    again = LockRecord.from_table(tomllib.loads(text)["tool"]["advisor"], source="x")
    assert again == record
    assert toml_section(again.to_table()) == text


# --------------------------------------------------------------------------- the rest


def test_requirements_header_writes_the_digest_and_pip_constraints() -> None:
    record = LockRecord(input_digest="abc", inputs=InputsRecord(pip_constraints=("a<2", "b")))
    assert requirements_header("advisor lock x.in", record) == (
        "advisor lock x.in\ninput-digest: abc\npip-constraints: a<2, b"
    )
    assert requirements_header("cmd", LockRecord(input_digest="d")) == "cmd\ninput-digest: d"
    with pytest.raises(LockfileError, match="input digest"):
        requirements_header("cmd", LockRecord())


def test_is_pylock_text_tells_a_lock_by_its_content() -> None:
    assert is_pylock_text('lock-version = "1.0"\n', source="a")
    assert not is_pylock_text("[project]\nname = 'x'\n", source="a")
    with pytest.raises(InvalidLockToml, match=r"^deps\.lock: invalid TOML: .*line 2") as info:
        is_pylock_text("a = 1\nb = \n", source="deps.lock")
    assert info.value.source == "deps.lock" and "line 2" in info.value.reason


def test_a_fix_record_replaces_the_advice_and_accumulates() -> None:
    """``advisor fix`` writes ``fixed`` in place of ``advice`` (whose scores described the
    pins before the fix), carrying the advice it came from; a second fix adds to the lists
    and keeps the first advice."""
    from advisor.lockfile.record import AdviceRecord, FixRecord, LockRecord

    advised = LockRecord(recommendation="stable").with_advice(
        AdviceRecord(score=0.5, latest_score=0.25, differs_from_latest=("numpy",))
    )
    advice = advised.to_table()["advice"]
    first = FixRecord.after(advised.other, changed=["parser"], advisories=["GHSA-b", "GHSA-a"])
    once = advised.with_advice(first)
    assert "advice" not in once.other
    assert once.to_table()["fixed"] == {
        "by": "advisor fix",
        "changed": ["parser"],
        "advisories": ["GHSA-a", "GHSA-b"],
        "advice": advice,
    }
    read = LockRecord.from_table(tomllib.loads(tomli_w.dumps(once.to_table())), source="t")
    second = FixRecord.after(read.other, changed=["cryptolib", "parser"], advisories=["GHSA-c"])
    assert read.with_advice(second).to_table()["fixed"] == {
        "by": "advisor fix",
        "changed": ["cryptolib", "parser"],
        "advisories": ["GHSA-a", "GHSA-b", "GHSA-c"],
        "advice": advice,
    }
    # a lock made by ``lock`` (no advice) records the fix without one
    plain = FixRecord.after({}, changed=["parser"], advisories=["GHSA-a"])
    assert "advice" not in plain.to_table()
