"""Observation kinds of the knowledge graph (msgspec structs), with provenance.

Sits below the stores, loaders and graph: everything the advisor knows beyond the index is
one of these values. Each is a frozen, tagged msgspec struct, so a mixed stream of them
round-trips through JSON (``encode_observation``/``decode_observation``) and the stores keep
one table for all kinds. ``observation_key`` gives each value a stable identity, which makes
re-imports idempotent; ``packages_of`` says which projects a value is about, for the index.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "KINDS",
    "RECORDER_PATTERN",
    "Action",
    "Advisory",
    "Affected",
    "ArtefactFault",
    "BuildObservation",
    "CoInstalled",
    "CompatibilityObservation",
    "EnvironmentFingerprint",
    "EnvironmentPredicate",
    "ImageRecipe",
    "Match",
    "Observation",
    "PerformanceObservation",
    "Prescription",
    "Provenance",
    "RangeEvent",
    "ReleaseObservation",
    "Severity",
    "VersionRange",
    "decode_observation",
    "decode_observations",
    "encode_observation",
    "observation_key",
    "packages_of",
    "stack_digest",
]


#: A recorder id: empty (unattributed), or 1-64 letters, digits, ``. _ : -`` starting with a
#: letter or a digit (:mod:`advisor.observe.recorder` makes 16 hex digits).
RECORDER_PATTERN = r"^(?:[A-Za-z0-9][A-Za-z0-9._:-]{0,63})?$"


class Provenance(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where a fact came from: ``source`` (``osv``, ``knowledge/prescriptions/x.yaml``,
    ``observe``, ``index`` …), ``date`` (ISO 8601), the tool (with version) that made it, and
    ``recorder``: the opaque id of the machine that observed it (see
    :mod:`advisor.observe.recorder`; never a host name). Curated facts, and observations
    recorded before recorders existed, have none (``""``: unattributed)."""

    source: str
    date: str
    tool: str = ""
    recorder: Annotated[str, msgspec.Meta(pattern=RECORDER_PATTERN)] = ""


class EnvironmentPredicate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where a fact holds; an empty predicate holds everywhere.

    ``python`` and ``cuda`` are PEP 440 specifiers (``">=3.12"``); ``platform`` is an
    fnmatch pattern over platform tags (``"manylinux_*_x86_64"``); ``os`` is ``linux``,
    ``macos`` or ``windows``; ``libc`` is ``glibc`` or ``musl``; ``cpu_features`` must all be
    present; ``recommendation_types`` restricts a rule to some types (empty: all).
    """

    python: str | None = None
    platform: str | None = None
    os: str | None = None
    arch: str | None = None
    libc: str | None = None
    cuda: str | None = None
    cpu_features: tuple[str, ...] = ()
    recommendation_types: tuple[str, ...] = ()


class EnvironmentFingerprint(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The machine a measurement was taken on, and how the run used it (performance depends
    on all of it). ``cpu_vendor`` is the CPU's own word (``GenuineIntel``, ``AuthenticAMD``,
    an ARM implementer code); ``blas`` the BLAS library family loaded by the run
    (``openblas``, ``mkl``, ``blis`` …; ``None``: none loaded, or not known); ``threads``
    the thread count the run's BLAS/OpenMP pools were given (pinned by the sweep, else what
    the pool reported)."""

    python: str
    platform: str
    implementation: str = "cp"
    arch: str | None = None
    cpu_vendor: str | None = None
    cpu_model: str | None = None
    cpu_level: str | None = None
    cpu_features: tuple[str, ...] = ()
    cores: int | None = None
    blas: str | None = None
    threads: int | None = None
    gpu: str | None = None
    cuda: str | None = None


# -- advisories (OSV) ---------------------------------------------------------------------


class RangeEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One OSV range event; exactly one field is set."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class VersionRange(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: Literal["ECOSYSTEM", "SEMVER", "GIT"]
    events: tuple[RangeEvent, ...] = ()


class Affected(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One affected package of an advisory: explicit ``versions`` and/or ``ranges``."""

    package: str  # canonical (PEP 503) name
    versions: tuple[str, ...] = ()
    ranges: tuple[VersionRange, ...] = ()


class Severity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str  # "CVSS_V3", "CVSS_V4", or the database's own word ("HIGH")
    score: str


class Advisory(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="advisory"):
    """A security advisory (from OSV). Whether a version is affected: see
    :mod:`advisor.knowledge.osv`. A withdrawn advisory never matches."""

    id: str
    summary: str = ""
    aliases: tuple[str, ...] = ()
    affected: tuple[Affected, ...] = ()
    severity: tuple[Severity, ...] = ()
    published: str | None = None
    modified: str | None = None
    withdrawn: str | None = None
    references: tuple[str, ...] = ()
    provenance: Provenance


# -- build and performance observations ------------------------------------------------------

BuildOutcome = Literal["ok", "failed", "needs-build", "no-wheel", "artefact-fault"]


class ArtefactFault(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A local file that is not the file the lock names: ``filename``, the ``sha256`` the file
    had on the recording machine, and the digests the lock ``expected``. A fault of that
    file on that machine (a tampered or truncated download, a stale vendored copy, a lock
    edited by hand), never of the release it belongs to."""

    filename: str
    sha256: str
    expected: tuple[str, ...] = ()


class BuildObservation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="build"):
    """Whether a package (a version, or a specifier's range) built/installed/imported in an
    environment; or, with no ``package``, whether a whole stack (``stack_digest``: the
    lock's sha256) built as a container image. ``image`` names the image recipe when the
    build was an image build. ``log_excerpt`` carries no URLs (file names only) and no
    home/temp paths.

    ``environment`` is where the outcome holds. ``interpreter`` (``"cpython 3.11.2"``) says
    it was asked from the interpreter that actually ran (the image's own Python, the venv's),
    not taken from a declaration; records without it carry what the recipe or host declared.
    Outcome ``artefact-fault`` (with ``artefact`` on a package's observation) says a local
    file did not match the lock: it is about that file and the recording machine, and says
    nothing about the release (scoring ignores it). ``pushed`` lists where the built image
    was pushed, each as a reference by manifest digest (``HOST/NAME@sha256:…``)."""

    package: str | None = None
    version: str | None = None
    specifier: str | None = None
    environment: EnvironmentPredicate = EnvironmentPredicate()
    outcome: BuildOutcome
    failure_class: str | None = None
    duration: float | None = None
    log_excerpt: str = ""
    image: str | None = None
    stack_digest: str | None = None
    interpreter: str | None = None
    artefact: ArtefactFault | None = None
    pushed: tuple[str, ...] = ()
    provenance: Provenance


class PerformanceObservation(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="performance"
):
    """One measured probe, for a package version or for a whole stack.

    ``value`` is the median of ``samples`` (one per timed run, in the order they were
    taken), ``spread`` their range (max - min) and ``repeats`` their count. Observations
    recorded before samples were kept have ``value``, ``spread`` and ``repeats`` only: they
    stay readable, but the performance unit cannot test a difference with them, so they
    never make a term. ``rounds`` gives, per sample, the timed round of its interleaved run
    (the ``session`` condition) it was taken in, counted from 0: two versions' samples of
    one round shared the machine's state, so they are compared in pairs (empty: not
    known, as in observations recorded before rounds were kept)."""

    package: str | None = None
    version: str | None = None
    stack_digest: str | None = None
    probe: str
    metric: str
    value: float
    unit: str
    spread: float | None = None
    repeats: int | None = None
    samples: tuple[float, ...] = ()
    rounds: tuple[int, ...] = ()
    environment: EnvironmentFingerprint
    #: what else shaped the run: CPU count, BLAS in use and its thread pool, BLAS env vars
    conditions: dict[str, str] = {}
    provenance: Provenance


class ReleaseObservation(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="release"
):
    """What the index says about one release: when it was uploaded, whether it was yanked,
    and which targets have a wheel for it (``wheel_targets``: platform tags of the targets
    asked about that a wheel covers; ``sdist``: a source distribution exists)."""

    package: str
    version: str
    index: str
    upload_time: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    requires_python: str | None = None
    sdist: bool = False
    wheel_targets: tuple[str, ...] = ()
    provenance: Provenance


# -- compatibility observations ------------------------------------------------------------

CompatibilityOutcome = Literal["ok", "failed"]


class CompatibilityObservation(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="compatibility"
):
    """Whether two releases work together: ``package==version`` (the swept one, numpy say)
    installed beside ``other==other_version`` in one fresh venv, ``other`` imported and its
    smoke probe run (``probe`` names what ran). ``ok``, or ``failed`` with a
    ``failure_class``: ``abi-mismatch`` (an extension built against another ABI of
    ``package``: "numpy.dtype size changed", "compiled using NumPy 1.x cannot be run in
    NumPy 2"), ``import-error``, ``crash`` (killed by a signal), ``timeout`` or
    ``smoke-error`` (imported, then the probe raised).

    ``installed`` lists every other distribution the venv held (``name==version``, sorted):
    what else may have played a part. ``environment`` is where the outcome holds, taken from
    the interpreter that ran (``interpreter``: ``"cpython 3.11.7"``) on the recording
    machine's platform; ``log_excerpt`` carries no URLs and no machine paths."""

    package: str
    version: str
    other: str
    other_version: str
    outcome: CompatibilityOutcome
    failure_class: str | None = None
    probe: str = ""
    installed: tuple[str, ...] = ()
    environment: EnvironmentPredicate = EnvironmentPredicate()
    interpreter: str | None = None
    duration: float | None = None
    log_excerpt: str = ""
    provenance: Provenance


# -- prescriptions (curated rules) ---------------------------------------------------------


class CoInstalled(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Another package that must be in the stack (within ``specifier``) for a rule to hold."""

    package: str
    specifier: str = ""


class Match(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    package: str
    specifier: str = ""
    co_installed: tuple[CoInstalled, ...] = ()
    environment: EnvironmentPredicate = EnvironmentPredicate()


ActionKind = Literal["filter", "score", "reject-stack", "justify"]
Level = Literal["info", "warning", "error"]


class Action(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a matching rule does: remove the candidate (``filter``), add a bounded ``score``
    term in [-1, 1], reject the whole stack, or only add a justification."""

    kind: ActionKind
    message: str
    score: float | None = None
    level: Level = "warning"


class Prescription(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="prescription"
):
    """A curated rule: evidence (``link`` to a real source and a short ``quote`` from it),
    a match and an action; ``env_advice`` suggests environment variables for images."""

    id: str
    summary: str
    link: str
    quote: str
    match: Match
    action: Action
    env_advice: dict[str, str] = {}
    provenance: Provenance


# -- image recipes --------------------------------------------------------------------------


class ImageRecipe(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="image"):
    """A curated container image profile: the base and what it gives the resolver."""

    name: str
    summary: str = ""
    base_image: str
    base_digest: str | None = None
    python: str
    implementation: str = "cp"
    platform: str
    cuda: str | None = None
    system_packages: tuple[str, ...] = ()
    #: Debian packages the builder stage adds when a pin must be built from source
    build_packages: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    extra_index_urls: tuple[str, ...] = ()
    #: projects taken only from the first extra index (a framework's own builds of them)
    index_packages: tuple[str, ...] = ()
    env: dict[str, str] = {}
    user: str = "app"
    labels: dict[str, str] = {}
    #: how the image starts: ENTRYPOINT (e.g. an init such as tini), CMD, and EXPOSEd ports
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ("python3",)
    ports: tuple[int, ...] = ()
    provenance: Provenance


Observation = (
    Advisory
    | BuildObservation
    | PerformanceObservation
    | Prescription
    | ImageRecipe
    | ReleaseObservation
    | CompatibilityObservation
)

#: Every kind's tag, in a fixed order (reports list kinds in this order).
KINDS: tuple[str, ...] = (
    "advisory",
    "build",
    "performance",
    "prescription",
    "image",
    "release",
    "compatibility",
)

_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER: msgspec.json.Decoder[Observation] = msgspec.json.Decoder(Observation)
_LIST_DECODER: msgspec.json.Decoder[list[Observation]] = msgspec.json.Decoder(list[Observation])


def encode_observation(obs: Observation) -> bytes:
    """Canonical JSON (keys in a fixed order, defaults omitted), with its ``type`` tag."""
    return _ENCODER.encode(obs)


def decode_observation(data: bytes | str) -> Observation:
    """Inverse of :func:`encode_observation`; raises ``msgspec.ValidationError`` or
    ``msgspec.DecodeError`` with the JSON path of a bad field."""
    return _DECODER.decode(data)


def decode_observations(data: bytes | str) -> list[Observation]:
    return _LIST_DECODER.decode(data)


def observation_key(obs: Observation) -> str:
    """A stable identity: re-importing the same fact replaces it instead of adding a copy.

    Advisories, prescriptions and recipes are keyed by their ids; measurements by a digest of
    their content and their recorder, without the rest of the provenance (the same
    measurement imported twice is one; the same outcome seen on two machines is two, so
    independent observations stay countable). A record without a recorder keeps the key it
    had before recorders existed.
    """
    if isinstance(obs, Advisory):
        return f"advisory:{obs.id}"
    if isinstance(obs, Prescription):
        return f"prescription:{obs.id}"
    if isinstance(obs, ImageRecipe):
        return f"image:{obs.name}"
    if isinstance(obs, ReleaseObservation):
        return f"release:{obs.index}:{obs.package}:{obs.version}"
    anonymous = Provenance(source="", date="", recorder=obs.provenance.recorder)
    body = msgspec.structs.replace(obs, provenance=anonymous)
    digest = hashlib.sha256(_ENCODER.encode(body)).hexdigest()[:32]
    if isinstance(obs, BuildObservation):
        kind = "build"
    elif isinstance(obs, CompatibilityObservation):
        kind = "compatibility"
    else:
        kind = "performance"
    return f"{kind}:{digest}"


def stack_digest(versions: Mapping[str, str]) -> str:
    """``sha256:<hex>`` over the sorted ``name==version`` lines of ``versions`` (names
    canonicalised): the identity of a whole stack, shared by the observations about one
    (a benchmark of an installed environment, an image build of a lock)."""
    lines = sorted(f"{canonicalize_name(n)}=={v}" for n, v in versions.items())
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def packages_of(obs: Observation) -> tuple[str, ...]:
    """Canonical names of the projects ``obs`` is about (for the per-package index)."""
    names: set[str] = set()
    if isinstance(obs, Advisory):
        names.update(a.package for a in obs.affected)
    elif isinstance(obs, ReleaseObservation):
        names.add(obs.package)
    elif isinstance(obs, BuildObservation | PerformanceObservation):
        if obs.package:
            names.add(obs.package)
    elif isinstance(obs, CompatibilityObservation):
        names.update((obs.package, obs.other))
    elif isinstance(obs, Prescription):
        names.add(obs.match.package)
        names.update(c.package for c in obs.match.co_installed)
    return tuple(sorted(canonicalize_name(n) for n in names if n))
