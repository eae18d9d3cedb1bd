"""The values the resolving jobs take (:mod:`advisor.options`), below the composition root:
the recommendation an advice runs under, the options of one compared runtime, the options a
recorded index or a requirements lock's own lines give, where a report goes."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from advisor.advice.runtimes import RuntimeChoice
from advisor.config import AdvisorConfig
from advisor.errors import InputError, InvalidOption
from advisor.index.settings import PipSettings
from advisor.lockfile.record import IndexRecord
from advisor.models import LockFormat, RecommendationType
from advisor.options import AdviseOptions, FixOptions, LockOptions, ReportOptions, ResolveOptions
from advisor.options.record import recorded_index
from advisor.options.resolve import advised_recommendation
from advisor.request import IndexOptions

STABLE, SECURITY, LATEST = (
    RecommendationType.STABLE,
    RecommendationType.SECURITY,
    RecommendationType.LATEST,
)


def test_advised_recommendation_takes_the_given_then_the_options_then_the_project() -> None:
    project = AdvisorConfig(recommendation=SECURITY)
    performance = ResolveOptions(recommendation=RecommendationType.PERFORMANCE)
    assert advised_recommendation("testing", opts=performance, config=project) == "testing"
    assert advised_recommendation(None, opts=performance, config=project) == "performance"
    # latest is the options' default, so it says nothing: the project's type, else stable
    assert advised_recommendation(None, opts=ResolveOptions(), config=project) is SECURITY
    assert advised_recommendation(None, opts=ResolveOptions(), config=AdvisorConfig()) is STABLE
    assert advised_recommendation(" Latest ", opts=performance, config=project) is LATEST
    with pytest.raises(InputError, match="unknown recommendation type"):
        advised_recommendation("fastest", opts=ResolveOptions(), config=project)


def test_a_runtime_replaces_only_what_it_names() -> None:
    opts = ResolveOptions(python="3.10", platform="linux_x86_64", cuda="12.1", envs=("a",))
    named = opts.for_runtime(RuntimeChoice(label="gpu", env="gpu"))
    assert (named.envs, named.python, named.platform, named.cuda) == (
        ("gpu",),
        None,  # a configured environment says its own Python
        "linux_x86_64",
        "12.1",
    )
    image = opts.for_runtime(
        RuntimeChoice(label="image:x", python="3.12", platform="musllinux_1_2_x86_64")
    )
    assert (image.envs, image.python, image.platform, image.cuda) == (
        (),
        "3.12",
        "musllinux_1_2_x86_64",
        "12.1",
    )


def test_index_options_alone() -> None:
    found = IndexOptions(index_url="file:///i", extra_index_urls=("file:///e",), no_index=False)
    assert ResolveOptions.from_index(found) == ResolveOptions(
        index_url="file:///i", extra_index_urls=("file:///e",)
    )
    assert ResolveOptions.from_index(None, refresh=True) == ResolveOptions(refresh=True)
    record = IndexRecord(indexes=("file:///i", "file:///e"), find_links=("file:///l",))
    assert recorded_index(record, refresh=True) == ResolveOptions(
        index_url="file:///i",
        extra_index_urls=("file:///e",),
        find_links=("file:///l",),
        refresh=True,
    )
    # a lock that records no index was made with --no-index (find-links only)
    assert recorded_index(IndexRecord(find_links=("file:///l",))).no_index


def test_a_report_goes_to_a_file_unless_told_stdout() -> None:
    assert ReportOptions(path=Path("advice.md")).to_file
    assert not ReportOptions(path=Path("-")).to_file
    assert not ReportOptions().to_file


def test_explain_scores_a_latest_lock_as_stable() -> None:
    assert ResolveOptions().for_explanation().recommendation is STABLE
    security = ResolveOptions(recommendation=SECURITY, python="3.12")
    assert security.for_explanation() == security


# --------------------------------------------------------------------------- checked when made


@pytest.mark.parametrize(
    ("field", "value"),
    [("count", 0), ("count", -2), ("budget", 0), ("time_limit", 0.0), ("time_limit", -1.5)],
)
def test_a_search_that_could_find_nothing_is_refused_from_python(field: str, value: float) -> None:
    """The rule the CLI (``--count 0``) and the server apply is the value's own."""
    with pytest.raises(InvalidOption) as refused:
        AdviseOptions(**{field: value})  # type: ignore[arg-type]
    assert (refused.value.option, refused.value.value) == (field, value)
    assert isinstance(refused.value, InputError) and refused.value.exit_code == 2
    with pytest.raises(InvalidOption):  # a copy is checked too
        dataclasses.replace(AdviseOptions(), **{field: value})


def test_a_time_limit_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidOption, match="time_limit"):
        AdviseOptions(time_limit=math.nan)


def test_the_smallest_search_is_accepted() -> None:
    smallest = AdviseOptions(count=1, budget=1, time_limit=0.01)
    assert smallest.search_options().count == 1


def test_an_advice_names_its_recommendation_type_by_value_or_name() -> None:
    assert AdviseOptions().recommendation is None  # the options' or the project's, later
    assert AdviseOptions(recommendation=SECURITY).recommendation is SECURITY
    named = AdviseOptions(recommendation=" Testing ")  # type: ignore[arg-type]
    assert named.recommendation is RecommendationType.TESTING
    with pytest.raises(InputError, match="unknown recommendation type"):
        AdviseOptions(recommendation="fastest")  # type: ignore[arg-type]


def test_a_lock_format_is_checked_and_named_formats_become_the_enum() -> None:
    assert LockOptions(format="requirements").format is LockFormat.REQUIREMENTS  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown lock format 'toml'"):
        LockOptions(format="toml")  # type: ignore[arg-type]


def test_advise_runs_the_given_type_else_the_options_else_the_project() -> None:
    project = AdvisorConfig(recommendation=SECURITY)
    assert ResolveOptions().advised(None, project).recommendation is SECURITY
    assert ResolveOptions().advised(STABLE, project).recommendation is STABLE
    assert ResolveOptions().is_pip_choice
    assert not ResolveOptions().advised(None, AdvisorConfig()).is_pip_choice


def test_the_curated_folders_come_first_then_the_checkouts_under_its_own_source() -> None:
    mine, bundled = Path("/p/knowledge"), Path("/checkout/knowledge")
    advice = AdviseOptions(knowledge_dirs=(mine, bundled, mine))
    assert advice.curated_folders(bundled) == (
        (mine, "knowledge"),
        (bundled, "advisor-knowledge"),
    )
    assert advice.curated_folders(None) == ((mine, "knowledge"), (bundled, "knowledge"))


def test_pips_default_index_is_asked_only_when_no_source_names_one() -> None:
    """Asking it imports pip: a lock with ``--index-url`` does without."""

    def never() -> str:
        raise AssertionError("the default index was asked for")

    named = ResolveOptions(index_url="file:///i")
    config = named.index_config(IndexOptions(), AdvisorConfig(), PipSettings(), default_index=never)
    assert config.indexes == ("file:///i",)
    extra_only = ResolveOptions(extra_index_urls=("file:///e",))
    default = extra_only.index_config(
        IndexOptions(), AdvisorConfig(), PipSettings(), default_index=lambda: "file:///d"
    )
    assert default.indexes == ("file:///d", "file:///e")


def test_a_fix_writes_over_its_lock_in_its_own_format() -> None:
    options = FixOptions(dry_run=True, knowledge="sqlite:///k.db", allow_major=True)
    out = options.lock_options(Path("reqs.txt"), LockFormat.REQUIREMENTS)
    assert (out.output, out.format, out.dry_run, out.command) == (
        Path("reqs.txt"),
        LockFormat.REQUIREMENTS,
        True,
        "advisor fix",
    )
    assert options.knowledge_options() == AdviseOptions(knowledge="sqlite:///k.db")
    assert options.remedy_options(SECURITY).allow_major


def test_a_report_is_published_once_where_it_goes(tmp_path: Path) -> None:
    """The one writer of a report (``advise`` and ``--compare-env``): to its file with a final
    newline, never to ``-`` or when no file is named; the text comes back either way."""
    path = tmp_path / "advice.md"
    assert ReportOptions(path=path).publish("# advice") == "# advice"
    assert path.read_text(encoding="utf-8") == "# advice\n"
    assert ReportOptions(path=Path("-")).publish("x") == "x"
    assert ReportOptions().publish("x") == "x"
    assert not (tmp_path / "-").exists() and sorted(tmp_path.iterdir()) == [path]


def test_a_report_that_cannot_be_written_says_where(tmp_path: Path) -> None:
    from advisor.errors import UnwritableOutput

    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    with pytest.raises(UnwritableOutput) as caught:
        ReportOptions(path=blocked / "advice.md").publish("x")
    assert caught.value.path == str(blocked / "advice.md")


def test_a_lock_outcome_is_written_only_where_it_has_a_path(tmp_path: Path) -> None:
    """The one writer of a lock (the offline job and the ``--server`` client)."""
    from advisor.models import Resolution
    from advisor.options.outcomes import LockOutcome

    made = LockOutcome(resolution=Resolution(pins=()), text="lock\n", path=None, targets=(),
                       digest="d")  # fmt: skip
    assert made.write() is made and list(tmp_path.iterdir()) == []
    path = tmp_path / "pylock.toml"
    there = dataclasses.replace(made, path=path)
    assert there.write() is there
    assert path.read_text(encoding="utf-8") == "lock\n"
