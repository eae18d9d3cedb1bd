"""``--verify``'s pure parts: a failed import blamed through its traceback, a learnt nogood
matched against a later stack, a target that is not this machine refused, the report's lines.
The install-and-import runs are in ``tests/functional/test_verify_numpy.py`` (slow)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.advice.verification import violates
from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.observe.verify import blamed_modules, check_host
from advisor.report import render_advice
from advisor.scoring.advice import Advice, PinAdvice, StackAdvice
from tests.functional.helpers import clean_environ, run_cli

if TYPE_CHECKING:
    from pathlib import Path

OWNERS = {"numpy": "numpy", "oldext": "oldext", "yaml": "pyyaml", "sklearn": "scikit-learn"}

NUMPY_TRACEBACK = """Traceback (most recent call last):
  File "<string>", line 1, in <module>
  File "/tmp/v/lib/python3.11/site-packages/oldext/__init__.py", line 5, in <module>
    raise ImportError("numpy.core.multiarray failed to import")
ImportError: numpy.core.multiarray failed to import
"""

FRAMES = """Traceback (most recent call last):
  File "/tmp/v/lib/python3.11/site-packages/sklearn/__init__.py", line 3, in <module>
    import yaml
  File "/tmp/v/lib/python3.11/site-packages/yaml/__init__.py", line 9, in <module>
    from ._cext import load
ImportError: cannot import name 'load'
"""


def test_a_failed_import_is_blamed_through_its_traceback() -> None:
    # the message names the module of another distribution: that one is the partner
    assert blamed_modules(NUMPY_TRACEBACK, owners=OWNERS, imported="oldext") == ["numpy"]
    # frames in another distribution's files, innermost first; the imported one is not blamed
    assert blamed_modules(FRAMES, owners=OWNERS, imported="scikit-learn") == ["pyyaml"]
    assert blamed_modules(
        "ModuleNotFoundError: No module named 'yaml'", owners=OWNERS, imported="oldext"
    ) == ["pyyaml"]
    # nothing of another distribution named: it fails alone
    assert blamed_modules("ImportError: broken", owners=OWNERS, imported="oldext") == []


def test_a_learnt_nogood_rejects_a_later_stack_holding_it() -> None:
    pins = {canonicalize_name("numpy"): Version("2.0"), canonicalize_name("oldext"): Version("1")}
    assert violates(pins, (("numpy", "==2.0"), ("oldext", "==1.0")))
    assert not violates(pins, (("numpy", "==1.0"), ("oldext", "==1.0")))
    assert not violates(pins, (("numpy", "==2.0"), ("other", "==1.0")))
    assert not violates(pins, ())


def test_verify_refuses_a_target_that_is_not_this_machine(tmp_path: Path) -> None:
    host = RuntimeEnvironment.detect()
    check_host(host, host)
    other = dataclasses.replace(host, python_version="3.99")
    with pytest.raises(InputError, match="--verify installs the stack on this machine"):
        check_host(other, host)
    req = tmp_path / "requirements.in"
    req.write_text("numpy\n")
    result = run_cli(
        ["advise", req, "--no-index", "--find-links", tmp_path, "--python", "3.99",
         "--verify", "-o", tmp_path / "pylock.toml"],
        env=clean_environ(tmp_path / "home"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--verify installs the stack on this machine" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pylock.toml").exists()


def test_the_reports_say_how_many_stacks_were_verified_and_what_each_failure_taught() -> None:
    stack = StackAdvice(score=0.0, pins=(PinAdvice(name="numpy", version="1.0"),))
    lesson = "oldext==1.0 with numpy==2.0 fails to import"
    advice = Advice(recommendation="stable", targets=("host",), best=stack, latest=stack,
                    verified=2, lessons=(lesson,))  # fmt: skip
    for fmt in ("text", "md"):
        out = render_advice(advice, fmt=fmt)
        assert "2 verified here" in out
        assert "oldext==1.0 with numpy==2.0 fails to import" in out
    plain = dataclasses.replace(advice, verified=None, lessons=())
    assert "verified here" not in render_advice(plain, fmt="text")


def test_an_abi_mismatch_bans_the_partners_major_and_later() -> None:
    from advisor.observe.verify import _partner_specifier

    assert _partner_specifier("2.4.6", "abi-mismatch") == ">=2"
    assert _partner_specifier("2.4.6", "import-error") == "==2.4.6"
    assert _partner_specifier("0.9", "abi-mismatch") == "==0.9"


def test_every_target_must_be_this_machine() -> None:
    from advisor.observe.verify import check_hosts

    host = RuntimeEnvironment.detect()
    check_hosts([host, dataclasses.replace(host, name="again")], host)
    other = dataclasses.replace(host, platform="win_amd64")
    with pytest.raises(InputError, match="win_amd64"):
        check_hosts([host, other], host)


def test_the_verifier_installs_from_the_advice_s_indexes() -> None:
    from advisor.observe.compat import PipSource

    got = PipSource.of_indexes(("file:///a", "file:///b"), find_links=("file:///l",))
    assert got.args() == [
        "--index-url", "file:///a", "--extra-index-url", "file:///b", "--find-links",
        "file:///l",
    ]  # fmt: skip
    assert PipSource.of_indexes((), find_links=("file:///l",)).args() == [
        "--find-links",
        "file:///l",
        "--no-index",
    ]
