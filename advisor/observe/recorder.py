"""Who recorded an observation: this machine's recorder id, stamped into provenance.

Sits beside :mod:`advisor.observe.fingerprint` (what the machine *is*), between the
composition root, which asks :func:`detect_recorder` once per run, and the observations an
install, an image build or a benchmark records: :func:`with_recorder` stamps the id into
their :class:`~advisor.knowledge.schema.Provenance`. With it the advice can tell repeated
independent observations from one machine's single one, and a store can be filtered by who
recorded what.

The id is opaque and stable. It is derived from the machine's own id (systemd's
``/etc/machine-id``, else D-Bus's ``/var/lib/dbus/machine-id``) by HMAC-SHA256 keyed with that
id over a constant of this application, as machine-id(5) asks of applications (the raw id is
never exposed; the derived one reveals nothing of the machine). A machine without one
(macOS, Windows, a minimal container) gets a random id, kept in ``recorder-id`` in the
advisor's data directory. ``ADVISOR_RECORDER`` names the recorder explicitly: a fleet of
throwaway CI runners that should count as one recorder, say.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from advisor.errors import InputError
from advisor.knowledge.schema import RECORDER_PATTERN

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from advisor.knowledge.schema import Observation

__all__ = [
    "MACHINE_ID_FILES",
    "RECORDER_ENV",
    "detect_recorder",
    "is_recorder",
    "recorder_id",
    "with_recorder",
]

#: The environment variable naming the recorder explicitly.
RECORDER_ENV = "ADVISOR_RECORDER"
#: Where Linux keeps the machine's id (the first readable one is used).
MACHINE_ID_FILES: tuple[Path, ...] = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
_KEPT = "recorder-id"  # the random id of a machine without a machine id, in the data dir
_APPLICATION = b"stack-advisor observation recorder v1"
_VALID = re.compile(RECORDER_PATTERN)

ObservationT = TypeVar("ObservationT", bound="Observation")


def is_recorder(text: str) -> bool:
    """Whether ``text`` is usable as a recorder id: 1-64 letters, digits, ``. _ : -``,
    starting with a letter or a digit."""
    return bool(text) and _VALID.fullmatch(text) is not None


def recorder_id(machine_id: str) -> str:
    """The recorder id of the machine whose id is ``machine_id``: 16 hex digits of
    HMAC-SHA256(key=the machine id, message=a constant of this application)."""
    key = machine_id.strip().encode()
    return hmac.new(key, _APPLICATION, hashlib.sha256).hexdigest()[:16]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def detect_recorder(
    environ: Mapping[str, str],
    *,
    data_dir: Path | None = None,
    machine_id_files: Sequence[Path] = MACHINE_ID_FILES,
    create: bool = True,
) -> str:
    """This machine's recorder id: ``ADVISOR_RECORDER`` from ``environ`` when set, else
    derived from the first readable machine id file, else the id kept in ``data_dir``
    (default: the platform's user data directory for ``stack-advisor``), made and kept
    there when missing and ``create``. ``""`` when none can be had (an unwritable data
    directory): the observations are then unattributed, never given a throwaway id that
    would make one machine look like many.

    Raises :class:`InputError` for an ``ADVISOR_RECORDER`` that is not a usable id.
    """
    explicit = environ.get(RECORDER_ENV, "").strip()
    if explicit:
        if not is_recorder(explicit):
            raise InputError(
                f"{RECORDER_ENV}={explicit!r}: a recorder id is 1-64 letters, digits, '.', '_',"
                " ':' or '-', starting with a letter or a digit"
            )
        return explicit
    for path in machine_id_files:
        machine = _read(path)
        if machine:
            return recorder_id(machine)
    if data_dir is None:
        import platformdirs

        data_dir = Path(platformdirs.user_data_dir("stack-advisor"))
    return _kept_id(data_dir, create=create)


def _kept_id(folder: Path, *, create: bool) -> str:
    path = folder / _KEPT
    kept = _read(path)
    if is_recorder(kept) or not create:
        return kept if is_recorder(kept) else ""
    fresh = secrets.token_hex(8)
    temporary = folder / f".{_KEPT}.{os.getpid()}.{fresh}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary.write_text(fresh + "\n", encoding="utf-8")
        try:
            os.link(temporary, path)  # atomic and never overwrites: the first writer wins
        except FileExistsError:
            pass
    except OSError:
        return ""
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    kept = _read(path)
    return kept if is_recorder(kept) else ""


def with_recorder(observations: Iterable[ObservationT], recorder: str) -> list[ObservationT]:
    """``observations`` with ``recorder`` in the provenance of those that name none (an
    observation that already says who recorded it keeps its recorder)."""
    stamped = []
    for obs in observations:
        if recorder and not obs.provenance.recorder:
            provenance = msgspec.structs.replace(obs.provenance, recorder=recorder)
            obs = msgspec.structs.replace(obs, provenance=provenance)
        stamped.append(obs)
    return stamped
