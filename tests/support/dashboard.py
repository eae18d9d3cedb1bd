"""What the dashboard tests put in a store (test support): one package seen every way.

``fastjson`` has three releases, an advisory affecting the first two (whose summary,
reference and source are hostile markup: the pages must escape them), build outcomes, and
a probe measured with samples on two settings; ``HOSTILE`` is the markup that must never
reach a page as markup. Also an image build of a stack, so the home page lists one.
"""

from __future__ import annotations

from advisor.knowledge.schema import (
    Advisory,
    Affected,
    BuildObservation,
    EnvironmentFingerprint,
    EnvironmentPredicate,
    Observation,
    PerformanceObservation,
    Provenance,
    RangeEvent,
    ReleaseObservation,
    VersionRange,
)

__all__ = ["HOSTILE", "PACKAGE", "PROBE", "VERSIONS", "dashboard_observations", "samples"]

PACKAGE = "fastjson"
VERSIONS = ("1.0", "1.1", "2.0")
PROBE = "fastjson.dumps-10k"
HOSTILE = "<script>alert('x')</script>"

_PROVENANCE = Provenance(source="upload:ci", date="2026-05-20", tool="test")
_HOST = EnvironmentFingerprint(
    python="3.12.4", platform="linux_x86_64", cpu_vendor="TestVendor", cpu_model="Test CPU"
)
_OTHER = EnvironmentFingerprint(python="3.11.9", platform="linux_aarch64", cpu_model="Other")


def samples(version: str) -> tuple[float, ...]:
    """Eight timings (ms) per version: 1.1 is clearly faster, 2.0 like 1.0."""
    base = {"1.0": 10.0, "1.1": 8.0, "2.0": 10.05}[version]
    return tuple(round(base + 0.03 * i, 4) for i in range(8))


def dashboard_observations() -> list[Observation]:
    found: list[Observation] = [
        Advisory(
            id="GHSA-fast-json-0001",
            summary=f"dumps overflows {HOSTILE}",
            affected=(
                Affected(
                    package=PACKAGE,
                    ranges=(
                        VersionRange(
                            type="ECOSYSTEM",
                            events=(RangeEvent(introduced="0"), RangeEvent(fixed="2.0")),
                        ),
                    ),
                ),
            ),
            references=("javascript:alert(1)", "https://example.invalid/GHSA-fast-json-0001"),
            provenance=Provenance(source=f"osv:{HOSTILE}", date="2026-05-01"),
        ),
        BuildObservation(
            package=PACKAGE,
            version="1.0",
            outcome="failed",
            failure_class="compiler",
            environment=EnvironmentPredicate(python="3.12"),
            provenance=_PROVENANCE,
        ),
        BuildObservation(
            package=PACKAGE,
            version="2.0",
            outcome="ok",
            environment=EnvironmentPredicate(python="3.12"),
            provenance=_PROVENANCE,
        ),
        BuildObservation(
            image="datascience",
            stack_digest="sha256:" + "ab" * 32,
            outcome="ok",
            interpreter="cpython 3.12.4",
            provenance=Provenance(source="upload:ci", date="2026-05-21"),
        ),
    ]
    for version in VERSIONS:
        found.append(
            ReleaseObservation(
                package=PACKAGE, version=version, index="test", provenance=_PROVENANCE
            )
        )
        values = samples(version)
        for environment in (_HOST, _OTHER):
            found.append(
                PerformanceObservation(
                    package=PACKAGE,
                    version=version,
                    probe=PROBE,
                    metric="time",
                    value=sorted(values)[4],
                    unit="ms",
                    repeats=len(values),
                    samples=values,
                    environment=environment,
                    provenance=_PROVENANCE,
                )
            )
    return found
