"""Conformance: every packse scenario in ../shared/data, resolved through ``advisor.api.lock``.

Each scenario becomes a ``file://`` fixture index and a requirements file (or a pyproject when
the root has a requires-python); the lock is compared with ``[expected]``. Unsatisfiable
scenarios also compare the conflict explanation with a golden file in
``tests/golden/packse/`` (set ``ADVISOR_UPDATE_GOLDEN=1`` to rewrite them after a deliberate
wording change). Scenarios we knowingly resolve differently are listed in ``KNOWN`` with a
one-line reason; a scenario that fails without being listed, or is listed but passes, fails the
test, so the list only shrinks.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import pytest

from advisor.api import LockOptions, ResolveOptions, lock
from advisor.errors import AdvisorError, NoViableStack
from tests.support.index import build_index
from tests.support.packse import Scenario, iter_scenarios

GOLDEN = Path(__file__).parents[1] / "golden" / "packse"

UNIVERSAL = "needs universal (multi-platform) resolution, which lock does only per named target"
PIP_PRE = (
    "pip's pre-release rule (the `latest` contract): once a specifier names a pre-release, "
    "pre-releases compete on version and the newest wins; uv prefers a stable version"
)
PIP_PRE_FALLBACK = (
    "pip (and `latest`) never falls back to pre-releases after backtracking over the stable "
    "versions; uv does, so pip reports a conflict here too"
)
KNOWN: dict[str, str] = {
    **dict.fromkeys(
        [
            "package-prerelease-specified-mixed-available",
            "package-prereleases-specifier-boundary",
            "prerelease-base-extra-stable-preference-after-backtrack",
            "prerelease-base-extra-stable-preference-explicit-first",
            "prerelease-base-extra-stable-preference-plain-first",
            "prerelease-equivalent-stable-preference-explicit-first",
            "prerelease-equivalent-stable-preference-plain-first",
            "prerelease-extra-stable-preference",
            "prerelease-multiple-redundant-stable-preference-explicit-first",
            "prerelease-multiple-redundant-stable-preference",
            "prerelease-redundant-stable-preference-explicit-first",
            "prerelease-redundant-stable-preference-plain-first",
            "transitive-prerelease-equivalent-stable-preference-explicit-first",
            "transitive-prerelease-equivalent-stable-preference-plain-first",
            "transitive-prerelease-prefers-stable",
            "transitive-prerelease-redundant-stable-preference-parent-first",
        ],
        PIP_PRE,
    ),
    **dict.fromkeys(
        [
            "prerelease-capped-union-alternate-parent",
            "prerelease-capped-union-backtrack",
            "prerelease-fallback-after-stable-rejected",
        ],
        PIP_PRE_FALLBACK,
    ),
    "python-less-than-current": (
        "pip honours an upper bound in a package's Requires-Python (so does `latest`); "
        "uv ignores it"
    ),
    "transitive-yanked-and-unyanked-dependency": (
        "pip accepts a yanked version that a dependency pins with ==; "
        "uv requires the root to opt in"
    ),
}


def _platform(value: str | None) -> str | None:
    if value is None:
        return None
    arch, _, plat = value.partition("-")
    if plat == "manylinux2014":
        return f"manylinux_2_17_{arch}"
    return f"{plat}_{arch}"


def _inputs(scenario: Scenario, work: Path) -> Path:
    lines = list(scenario.requires)
    opts = scenario.resolver_options
    for name in opts.no_binary:
        lines.insert(0, f"--no-binary {name}")
    if scenario.requires_python:
        import tomli_w

        (work / "pyproject.toml").write_text(
            tomli_w.dumps(
                {
                    "project": {
                        "name": "packse-root",
                        "version": "0.1.0",
                        "requires-python": scenario.requires_python,
                        "dependencies": list(scenario.requires),
                    }
                }
            )
        )
        if opts.no_binary:
            (work / "extra.in").write_text("\n".join(f"--no-binary {n}" for n in opts.no_binary))
        return work / "pyproject.toml"
    path = work / "requirements.in"
    path.write_text("\n".join(lines) + "\n")
    return path


def _normalise(text: str, work: Path) -> str:
    """Golden files hold no host facts: temp paths, platform tag and host Python go."""
    text = text.replace(work.as_uri(), "<index>").replace(str(work), "<work>")
    text = re.sub(r"\b(many|musl)linux_\d+_\d+_\w+", "<platform>", text)
    text = re.sub(rf"\b{re.escape(platform.python_version())}\b", "<host-python>", text)
    return text + "\n"


def _run(scenario: Scenario, work: Path) -> tuple[bool, str]:
    """(ok, detail) for one scenario."""
    index = build_index(work / "index", scenario.projects)
    inputs = _inputs(scenario, work)
    opts = scenario.resolver_options
    environ = {
        "PIP_CONFIG_FILE": os.devnull,
        "HOME": str(work),
        "PATH": os.environ.get("PATH", ""),
    }
    ropts = ResolveOptions(
        index_url=index.file_url,
        python=scenario.target_python,
        platform=_platform(opts.python_platform),
        pre=opts.prereleases,
        only_binary=tuple(opts.no_build),
        no_cache=True,
    )
    try:
        outcome = lock(
            [inputs],
            opts=ropts,
            out=LockOptions(output=work / "pylock.toml", dry_run=True),
            environ=environ,
            cwd=work,
        )
    except NoViableStack as exc:
        if scenario.expected.satisfiable:
            return False, f"expected a stack, got a conflict:\n{exc}"
        golden = GOLDEN / f"{scenario.name}.txt"
        text = _normalise(str(exc), work)
        if os.environ.get("ADVISOR_UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        elif not golden.exists():
            hint = "ADVISOR_UPDATE_GOLDEN=1 writes it"
            return False, f"no golden file {golden.name} ({hint}):\n{text}"
        elif golden.read_text() != text:
            return False, f"conflict message differs from {golden.name}:\n{text}"
        return True, ""
    except AdvisorError as exc:
        return False, f"error: {exc}"
    if not scenario.expected.satisfiable:
        got = {p.name: str(p.version) for p in outcome.resolution.pins}
        return False, f"expected a conflict, got {got}"
    got = {p.name: str(p.version) for p in outcome.resolution.pins}
    want = dict(scenario.expected.packages)
    if want and got != want:
        return False, f"expected {want}, got {got}"
    return True, ""


def test_packse_conformance(packse_scenarios: Path, tmp_path: Path) -> None:
    results: dict[str, tuple[bool, str]] = {}
    for scenario in iter_scenarios(packse_scenarios):
        work = tmp_path / scenario.name
        work.mkdir()
        if scenario.resolver_options.universal or scenario.resolver_options.required_environments:
            KNOWN.setdefault(scenario.name, UNIVERSAL)
        results[scenario.name] = _run(scenario, work)
    passed = sorted(n for n, (ok, _) in results.items() if ok)
    failed = sorted(n for n, (ok, _) in results.items() if not ok)
    print(f"\npackse scenarios: {len(passed)} passed, {len(failed)} failed")
    unexpected = [n for n in failed if n not in KNOWN]
    fixed = [n for n in passed if n in KNOWN and KNOWN[n] != UNIVERSAL]
    for n in failed:
        tag = "known" if n in KNOWN else "UNEXPECTED"
        print(f"  [{tag}] {n}: {KNOWN.get(n) or results[n][1].splitlines()[0]}")
    details = "\n\n".join(f"{n}: {results[n][1]}" for n in unexpected)
    assert not unexpected, f"{len(unexpected)} scenarios fail unexpectedly:\n{details}"
    assert not fixed, f"listed as known differences but pass now (remove them): {fixed}"


@pytest.mark.parametrize("value,expected", [("x86_64-manylinux2014", "manylinux_2_17_x86_64")])
def test_platform_mapping(value: str, expected: str) -> None:
    assert _platform(value) == expected
