"""The advice endpoints' parts: the job slots (429 when full, 503 past the time limit, with
real threads), the vetting of a client's files, the client's link and its reading of refusals.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import pytest

from advisor.errors import InputError, NoViableStack
from advisor.server.client import ServerLink, ServerRefused, refusal
from advisor.server.jobs import JobSlots, problem_for
from advisor.server.problems import ApiError
from advisor.server.sending import lock_files
from advisor.server.workspace import vet_files, write_files

if TYPE_CHECKING:
    from pathlib import Path


def test_slots_refuse_when_full_and_answer_503_past_the_limit() -> None:
    release = threading.Event()

    def blocked() -> str:
        release.wait(10)
        return "done"

    async def scenario() -> list[object]:
        slots = JobSlots(jobs=1, queue=1, timeout=0.3)
        first = asyncio.ensure_future(slots.run(blocked))
        second = asyncio.ensure_future(slots.run(blocked))  # waits for the one thread
        await asyncio.sleep(0.05)
        with pytest.raises(ApiError) as busy:
            await slots.run(blocked)
        outcomes: list[object] = [busy.value.status, busy.value.code]
        for task in (first, second):
            with pytest.raises(ApiError) as late:
                await task
            outcomes += [late.value.status, late.value.code]
        release.set()
        await asyncio.sleep(0.2)  # the threads end and free their slots
        outcomes.append(await slots.run(lambda: "free again"))
        slots.close()
        return outcomes

    assert asyncio.run(scenario()) == [
        429,
        "busy",
        503,
        "timeout",
        503,
        "timeout",
        "free again",
    ]


def test_a_conflict_travels_with_its_causes() -> None:
    problem = problem_for(NoViableStack("no stack for host:", causes=["lib<1.5 and lib>=1.5"]))
    assert (problem.status, problem.code) == (422, "no-viable-stack")
    body = {"code": problem.code, "message": problem.message, "details": problem.details}
    again = refusal(problem.status, body, server="http://127.0.0.1:1")
    assert isinstance(again, NoViableStack)
    assert again.causes == ("lib<1.5 and lib>=1.5",) and again.exit_code == 1
    assert isinstance(problem_for(InputError("bad")), ApiError)
    assert problem_for(InputError("bad")).status == 400


def test_other_refusals_keep_code_and_exit_code() -> None:
    denied = refusal(401, {"code": "unauthorized", "message": "unknown token"}, server="S")
    assert isinstance(denied, ServerRefused)
    assert (denied.status, denied.code, denied.exit_code) == (401, "unauthorized", 2)
    assert "unknown token" in str(denied)
    odd = refusal(502, None, server="S")
    assert isinstance(odd, ServerRefused) and odd.exit_code == 3


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"../x.in": "app"}, "relative path"),
        ({"/etc/x.in": "app"}, "relative path"),
        ({"a.in": "--index-url http://127.0.0.1:9/simple\napp"}, "--index-url"),
        ({"a.in": "-i http://127.0.0.1:9/simple\napp"}, "-i"),
        ({"a.in": "--find-links ./wheels\napp"}, "--find-links"),
        ({"a.in": "-e ./src\n"}, "-e"),
        ({"a.in": "app @ http://127.0.0.1:9/app.tar.gz"}, "URL"),
        ({"a.in": "./local-checkout"}, "URL"),
        ({"a.in": "-r http://127.0.0.1:9/more.txt"}, "URL"),
        ({"a.in": "app", "advisor.toml": 'index-url = "http://127.0.0.1:9/"'}, "index-url"),
        (
            {"a.in": "app", "pyproject.toml": '[tool.advisor]\nfind-links = ["w"]\n'},
            "find-links",
        ),
        (
            {"pyproject.toml": '[project]\nname="p"\ndependencies=["x @ file:///tmp/x"]\n'},
            "URL",
        ),
    ],
)
def test_vetting_refuses_what_would_fetch_elsewhere(files: dict[str, str], words: str) -> None:
    with pytest.raises(ApiError) as refused:
        vet_files(files, named=())
    assert refused.value.status == 400 and words in refused.value.message


def test_vetting_lets_ordinary_inputs_through(tmp_path: Path) -> None:
    files = {
        "requirements.in": "# deps\napp>=1 ; python_version >= '3.8'  # why\n-c constraints.txt\n",
        "constraints.txt": "lib<3\n",
        "sub/pyproject.toml": '[project]\nname = "p"\ndependencies = ["app[x]>=1"]\n',
        # the lock being replaced: only its pins are read, its index lines are not used
        "requirements.txt": "--index-url http://127.0.0.1:9/simple\napp==1.0\n",
    }
    vet_files(files, named=("requirements.in",), unread=("requirements.txt",))
    with pytest.raises(ApiError, match="named but not sent"):
        vet_files(files, named=("missing.in",), unread=("requirements.txt",))
    write_files(files, tmp_path)
    assert (tmp_path / "sub" / "pyproject.toml").is_file()


def test_server_link_takes_the_token_from_the_url_or_the_environment() -> None:
    plain = ServerLink.parse("http://127.0.0.1:8000/")
    assert (plain.url, plain.token) == ("http://127.0.0.1:8000", None)
    in_url = ServerLink.parse("https://token:s3cr%40t@advisor.example:8443/team")
    assert (in_url.url, in_url.token) == ("https://advisor.example:8443/team", "s3cr@t")
    assert "s3cr" not in repr(in_url)
    assert ServerLink.parse("http://u:p@h", token="env").token == "env"
    for bad in ("ftp://h", "127.0.0.1:8000", "http://h/?x=1"):
        with pytest.raises(InputError):
            ServerLink.parse(bad)


def test_lock_files_are_named_from_the_locks_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements.in").write_text("app\n")
    (tmp_path / "advisor.toml").write_text("recommendation = 'stable'\n")
    (tmp_path / "pylock.toml").write_text("lock-version = '1.0'\n")
    files, inputs, _, _ = lock_files(
        [tmp_path / "sub" / "requirements.in"], root=tmp_path, output=tmp_path / "pylock.toml"
    )
    assert inputs == ("sub/requirements.in",)
    assert sorted(files) == ["advisor.toml", "pylock.toml", "sub/requirements.in"]
    with pytest.raises(InputError, match="inside"):
        lock_files([tmp_path / "sub" / "requirements.in"], root=tmp_path / "sub" / "x", output=None)
