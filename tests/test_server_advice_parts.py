"""The advice endpoints' parts: the job slots (429 when full, 503 past the time limit, with
real threads), the vetting of a client's files, the client's link and its reading of refusals.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from advisor.errors import InputError, NoViableStack
from advisor.server.client import ServerLink, ServerRefused, refusal
from advisor.server.jobs import JobSlots, problem_for
from advisor.server.problems import ApiError
from advisor.server.requests import (
    check_call,
    lock_answer,
    lock_call,
    refuse_local_check_options,
    refuse_local_options,
)
from advisor.server.sending import lock_files
from advisor.server.workspace import vet_files, write_files


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


def test_local_options_are_refused_before_anything_is_sent() -> None:
    """What the server decides (its indexes, cache, knowledge) is refused with --server;
    what a call carries is not."""
    from advisor.api.advising import AdviseOptions
    from advisor.api.context import ResolveOptions

    sent = ResolveOptions(python="3.12", extras=("web",), pre=True, upgrade=True)
    refuse_local_options(sent, default=ResolveOptions())  # nothing refused
    local = ResolveOptions(index_url="http://127.0.0.1:9/simple", cooldown_days=7.0)
    with pytest.raises(InputError, match=r"--index-url, --cooldown \(") as refused:
        refuse_local_options(local, default=ResolveOptions())
    assert "without --server" in str(refused.value)
    searched = AdviseOptions(count=5, budget=2)  # the search's bounds travel
    refuse_local_options(
        ResolveOptions(), default=ResolveOptions(), advice=searched, advice_default=AdviseOptions()
    )
    with pytest.raises(InputError, match=r"--knowledge, --strict \("):
        refuse_local_options(
            ResolveOptions(),
            default=ResolveOptions(),
            advice=AdviseOptions(knowledge="sqlite:///x.db", strict=True),
            advice_default=AdviseOptions(),
        )
    with pytest.raises(InputError, match=r"--osv, --fix cannot be used"):
        refuse_local_check_options(osv="dump.zip", online=False, fix=True, knowledge=None)
    refuse_local_check_options(osv=None, online=False, fix=False, knowledge=None)


#: a value unlike its default for each field refused with --server (a new field fails the
#: test below until it is named here, and so checked against the command line)
_REFUSED_VALUES: dict[str, object] = {
    "index_url": "http://127.0.0.1:9/simple",
    "extra_index_urls": ("http://127.0.0.1:9/extra",),
    "find_links": ("wheels",),
    "no_index": True,
    "index_strategy": "unsafe-best-match",
    "pre_packages": ("lib",),
    "exclude_newer": "2026-01-01",
    "cooldown_days": 7.0,
    "offline": True,
    "no_cache": True,
    "refresh": True,
    "cache_dir": Path("cache"),
    "no_build": True,
    "build_timeout": 9.0,
    "workload": "sort",
    "knowledge": "sqlite:///x.db",
    "knowledge_dirs": (Path("curated"),),
    "osv": Path("dump.zip"),
    "baseline": Path("old.toml"),
    "allow_sdist": True,
    "strict": True,
    "verify": True,
}


def test_every_refused_option_is_named_as_the_command_line_spells_it() -> None:
    """Each field refused with --server is named by an option ``advise`` really takes (and
    ``lock`` too, for the resolve options), not by the dataclass's field."""
    import dataclasses

    from advisor.api.advising import AdviseOptions
    from advisor.api.context import ResolveOptions
    from advisor.cli import cli
    from advisor.server.requests import ADVICE_REFUSED, RESOLVE_SENT

    advise_typed = {o for p in cli.commands["advise"].params for o in p.opts}
    lock_typed = {o for p in cli.commands["lock"].params for o in p.opts}
    internal = {"preferences_from"}  # set by the api from the baseline, never by an option
    resolve = {f.name for f in dataclasses.fields(ResolveOptions)} - RESOLVE_SENT - internal
    assert resolve | set(ADVICE_REFUSED) == set(_REFUSED_VALUES)
    for name, value in _REFUSED_VALUES.items():
        opts, advice = ResolveOptions(), AdviseOptions()
        if name in resolve:
            opts = dataclasses.replace(opts, **{name: value})
        else:
            advice = dataclasses.replace(advice, **{name: value})
        with pytest.raises(InputError, match="the server decides") as refused:
            refuse_local_options(
                opts, default=ResolveOptions(), advice=advice, advice_default=AdviseOptions()
            )
        named = str(refused.value).split("decides ", 1)[1].split(" ", 1)[0]
        assert named in advise_typed, (name, named)
        if name in resolve - {"workload"}:  # --workload is advise's only
            assert named in lock_typed, (name, named)


@pytest.mark.parametrize(
    ("field", "value"), [("count", 0), ("count", -1), ("budget", 0), ("time_limit", 0.0)]
)
def test_an_empty_search_is_not_a_call(field: str, value: float) -> None:
    """An advise request whose search could keep nothing is refused as it is decoded, by
    the rule of ``AdviseOptions`` (the CLI's and Python's too)."""
    import msgspec

    from advisor.errors import InvalidOption
    from advisor.options.jobs import AdviseOptions
    from advisor.server.calls import LockCall

    body = {"files": {"requirements.in": "app\n"}, "inputs": ["requirements.in"]}
    decoded = msgspec.json.decode(msgspec.json.encode(body), type=LockCall).search
    assert (decoded.count, decoded.budget) == (AdviseOptions().count, AdviseOptions().budget)
    bad = msgspec.json.encode({**body, "search": {field: value}})
    with pytest.raises(InvalidOption) as refused:
        msgspec.json.decode(bad, type=LockCall)
    assert refused.value.option == field


@pytest.mark.parametrize(("field", "value"), [("count", 0), ("budget", -1), ("time_limit", 0)])
def test_an_empty_search_is_a_400_naming_the_field(
    tmp_path: Path, field: str, value: float
) -> None:
    """Over real HTTP: the route answers 400 ``invalid-request`` naming the call's field,
    before any job runs."""
    import httpx

    from advisor.api.server_jobs import ServerJobs
    from advisor.knowledge.team_store import open_team_store
    from advisor.knowledge.tokens import Scope, issue_token
    from advisor.server.app import create_app
    from advisor.server.settings import ServerSettings
    from tests.support.asgi import serve_in_thread

    store = f"sqlite:///{tmp_path / 'team.db'}"
    with open_team_store(store) as opened:
        secret = issue_token(opened, "laptop", Scope.READ, created="2026-12-01").secret
    settings = ServerSettings(store_url=store, index_urls=("http://127.0.0.1:9/simple",))
    app = create_app(settings, jobs=ServerJobs(settings, environ={}))
    body = {"files": {"requirements.in": "app\n"}, "inputs": ["requirements.in"]}
    with serve_in_thread(app) as url:
        answer = httpx.post(
            f"{url}/v1/advise",
            json={**body, "search": {field: value}},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid-request"
    assert f"$.search.{field}" in answer.json()["message"]


def test_a_lock_call_is_built_from_the_options(tmp_path: Path) -> None:
    from advisor.api.advising import AdviseOptions
    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import LockOptions
    from advisor.models import RecommendationType

    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.in").write_text("app\n")
    (project / "constraints.txt").write_text("lib<2\n")
    opts = ResolveOptions(
        constraints=(project / "constraints.txt",),
        python="3.11",
        recommendation=RecommendationType.SECURITY,
    )
    call, path = lock_call(
        [project / "requirements.in"], opts=opts, out=LockOptions(), cwd=tmp_path
    )
    assert path == project / "pylock.toml"  # beside the first input, as offline
    assert call.inputs == ("requirements.in",) and call.constraints == ("constraints.txt",)
    assert call.output == "pylock.toml" and call.target.python == "3.11"
    assert call.recommendation == "security" and call.search.budget == 12
    advised, nowhere = lock_call(
        [project / "requirements.in"],
        opts=ResolveOptions(),
        out=LockOptions(output=Path("-")),
        cwd=project,
        search=AdviseOptions(budget=2, seed=5),
        recommendation="performance",
    )
    assert nowhere is None and advised.output == "-" and advised.recommendation == "performance"
    assert (advised.search.budget, advised.search.seed) == (2, 5)
    dry, unwritten = lock_call(
        [Path("requirements.in")], opts=ResolveOptions(), out=LockOptions(dry_run=True), cwd=project
    )
    assert unwritten is None and dry.output == "pylock.toml"


def test_a_check_call_names_files_from_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("app\n")
    (tmp_path / "requirements.txt").write_text("app==1.0\n")
    call = check_call(
        [Path("requirements.txt")],
        inputs=[Path("requirements.in")],
        only=frozenset({"hashes", "advisories"}),
        cwd=tmp_path,
    )
    assert call.paths == ("requirements.txt",) and call.inputs == ("requirements.in",)
    assert call.only == ("advisories", "hashes")
    assert sorted(call.files) == ["requirements.in", "requirements.txt"]


def test_an_answer_that_is_not_a_lock_is_an_input_error() -> None:
    answer = {
        "lock": "lock-version = '1.0'\n",
        "digest": "sha256:0",
        "targets": [],
        "pins": [{"name": "App", "version": "1.0", "marker": None, "needs-build": False}],
        "changed": [["app", None, "1.0"]],
        "warnings": [],
        "requests": 3,
    }
    read = lock_answer(answer, path=None)
    assert [(str(p.name), str(p.version)) for p in read.resolution.pins] == [("app", "1.0")]
    assert read.requests == 3 and read.changed == (("app", None, "1.0"),)
    for broken in ({**answer, "pins": [{"name": "app", "version": "not a version"}]}, {}):
        with pytest.raises(InputError, match="not a lock"):
            lock_answer(broken, path=None)


def test_a_call_runs_on_the_servers_indexes_cache_and_store(tmp_path: Path) -> None:
    """What the server's jobs run (server/job_options.py): the call's own options, but the
    server's indexes, cache and store whatever the call says, and a lock that stays a dry
    run (it goes back to the client)."""
    from advisor.knowledge.store import open_store
    from advisor.server.calls import CheckCall, LockCall, SearchSpec, TargetSpec
    from advisor.server.job_options import (
        check_run,
        explain_options,
        lock_run,
        search_options,
        time_left,
    )
    from advisor.server.settings import ServerSettings

    settings = ServerSettings(
        store_url="sqlite:///team.db",
        index_urls=("http://127.0.0.1:9/a", "http://127.0.0.1:9/b"),
        cache_dir=str(tmp_path / "cache"),
    )
    call = LockCall(
        files={"requirements.in": "app\n"},
        inputs=("requirements.in",),
        output="sub/pylock.toml",
        constraints=("c.txt",),
        target=TargetSpec(python="3.12"),
        recommendation="security",
        extras=("web",),
        search=SearchSpec(count=2, budget=5, time_limit=60.0, seed=7),
    )
    run = lock_run(call, folder=tmp_path, settings=settings)
    assert run.inputs == (tmp_path / "requirements.in",)
    assert run.opts.index_url == "http://127.0.0.1:9/a"
    assert run.opts.extra_index_urls == ("http://127.0.0.1:9/b",)
    assert (run.opts.find_links, run.opts.no_index) == ((), False)
    assert run.opts.cache_dir == tmp_path / "cache"
    assert run.opts.constraints == (tmp_path / "c.txt",)
    assert (run.opts.python, run.opts.extras, str(run.opts.recommendation)) == (
        "3.12",
        ("web",),
        "security",
    )
    assert run.out.output == tmp_path / "sub" / "pylock.toml" and run.out.dry_run
    with open_store(":memory:") as store:  # the server's own, which every job shares
        search = search_options(call, left=time_left(100.0, 80.0), store=store)
        assert (search.count, search.budget, search.seed) == (2, 5, 7)
        assert search.time_limit == 15.0 and search.shared_store is store
        assert str(search.recommendation) == "security" and search.curated_folders(tmp_path) == ()
        assert time_left(100.0, 99.0) == 1.0  # never nothing
        explained = explain_options(settings, left=1000.0, store=store)
        assert explained.shared_store is store and explained.knowledge == "sqlite:///team.db"
        paths, checked = check_run(CheckCall(files={}, paths=("a",)), store=store)
        assert paths == (Path("a"),) and checked.shared_store is store
        assert checked.curated_folder(tmp_path) is None
