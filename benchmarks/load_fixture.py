"""The small package index ``server_load.py --fixture-index`` serves for ``check`` and
``advise``: twelve projects built by the tests' own fixture builder (``tests/support``: real
wheels and sdists, no code in them) and served over HTTP on 127.0.0.1.

The names, versions and dependencies are those of a small web stack of 2022-23, so that the
OSV snapshot's advisories affect some of the pins (``urllib3`` 1.26.4, ``werkzeug`` 2.2.2,
``requests`` 2.28.1 …) and ``check`` has real matching to do; :data:`REQUIREMENTS` locks to
11 packages.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["REQUIREMENTS", "fixture_projects", "serving_fixture_index"]

REQUIREMENTS = "flask==2.2.2\nrequests==2.28.1\nurllib3==1.26.4\n"


def fixture_projects() -> list[Project]:
    flask_22 = ["werkzeug>=2.2", "jinja2>=3.0", "itsdangerous>=2.0", "click>=8.0"]
    flask_23 = ["werkzeug>=2.3", "jinja2>=3.1", "itsdangerous>=2.1", "click>=8.1"]
    requests = ["idna>=2.5", "certifi>=2017.4.17", "charset-normalizer>=2"]
    return [
        Project(
            name="flask",
            files=[
                *release("2.2.2", requires_dist=flask_22),
                *release("2.3.2", requires_dist=[*flask_23, "blinker>=1.6"]),
            ],
        ),
        Project(
            name="werkzeug",
            files=[
                *release("2.2.2", requires_dist=["markupsafe>=2.1"]),
                *release("2.3.6", requires_dist=["markupsafe>=2.1.1"]),
            ],
        ),
        Project(
            name="jinja2",
            files=[
                *release("3.0.3", requires_dist=["markupsafe>=2.0"]),
                *release("3.1.2", requires_dist=["markupsafe>=2.0"]),
            ],
        ),
        Project(name="markupsafe", files=[*release("2.1.1"), *release("2.1.3")]),
        Project(name="itsdangerous", files=[*release("2.1.2")]),
        Project(name="click", files=[*release("8.1.3"), *release("8.1.7")]),
        Project(name="blinker", files=[*release("1.6.2")]),
        Project(
            name="requests",
            files=[
                *release("2.28.1", requires_dist=["urllib3>=1.21.1,<1.27", *requests]),
                *release("2.31.0", requires_dist=["urllib3>=1.21.1,<3", *requests]),
            ],
        ),
        Project(name="urllib3", files=[*release("1.26.4"), *release("1.26.18")]),
        Project(name="idna", files=[*release("3.3"), *release("3.4")]),
        Project(name="certifi", files=[*release("2022.12.7"), *release("2023.7.22")]),
        Project(name="charset-normalizer", files=[*release("3.2.0")]),
    ]


@contextlib.contextmanager
def serving_fixture_index(folder: Path) -> Iterator[str]:
    """Build the index under ``folder`` and serve it on 127.0.0.1; yields its URL."""
    index = build_index(folder, fixture_projects())
    with IndexServer(index) as served:
        yield served.url
