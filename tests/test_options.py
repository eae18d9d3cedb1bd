"""The values the resolving jobs take (:mod:`advisor.options`), below the composition root:
the recommendation an advice runs under, the options of one compared runtime, the options a
recorded index or a requirements lock's own lines give, where a report goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.advice.runtimes import RuntimeChoice
from advisor.config import AdvisorConfig
from advisor.errors import InputError
from advisor.lockfile.record import IndexRecord
from advisor.models import RecommendationType
from advisor.options import ReportOptions, ResolveOptions
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
