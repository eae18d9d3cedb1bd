"""Architecture tests: layers import only downward, third-party libraries stay behind their
seams, and ``import advisor.cli`` stays cheap (see DESIGN.md and STYLE.md habit 11).

Imports are read with :mod:`ast` from every ``.py`` file under ``advisor/``: top-level, lazy
(inside functions) and ``TYPE_CHECKING`` imports alike, since each one is a dependency. A new
top-level module or package needs a rule in :data:`LAYERS` before this test passes.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import advisor

if TYPE_CHECKING:
    from collections.abc import Iterable

ROOT = Path(advisor.__file__).resolve().parent

# Layer (second part of the dotted module name; "" is the ``advisor`` package itself) → the
# layers it may import besides its own. ``None`` means any layer but the CLI.
LAYERS: dict[str, frozenset[str] | None] = {
    "": frozenset({"api"}),  # re-exports the API, lazily
    # the version, written once: a leaf every layer may import (see LEAVES)
    "_version": frozenset(),
    "errors": frozenset({"models"}),
    "models": frozenset({"errors"}),
    # the progress-event Protocol: the emitters below take it, the CLI renders it
    "events": frozenset(),
    # credentials out of URLs: one rule for every layer that shows, writes or records a URL
    "urls": frozenset(),
    "environment": frozenset({"errors", "models"}),
    "index": frozenset({"errors", "models", "events", "urls"}),
    "request": frozenset({"errors", "models", "urls"}),
    # [tool.advisor.policy], parsed once: the config loads it, check and scoring read it
    "policy": frozenset({"errors"}),
    "config": frozenset({"errors", "models", "request", "policy"}),
    # not index: the provider takes Protocols; search ranks stacks with the scoring layer
    "resolution": frozenset({"errors", "models", "events", "scoring"}),
    "lockfile": frozenset({"errors", "models"}),
    "install": frozenset({"errors", "models", "events", "lockfile"}),
    # lockfile: a lock's graph and the packages an OSV query asks about are read from it;
    # events: the OSV dump update reports its steps
    "knowledge": frozenset(
        {"errors", "models", "events", "environment", "index", "urls", "lockfile"}
    ),
    # check: lock selection, the run over a lock and the pure checks; what lies beyond the
    # lock files (store, index, host, the lock job) comes from api through a Protocol
    "check": frozenset(
        {"errors", "models", "environment", "knowledge", "policy", "config", "request"}
        | {"lockfile"}
    ),
    "scoring": frozenset({"errors", "models", "environment", "knowledge", "policy"}),
    # the decide layer: planner, advice engine, describer; files and metadata only through
    # the resolution layer's Protocols (never index), knowledge only through scoring's view
    "advice": frozenset(
        {"errors", "models", "events", "urls", "environment", "request", "policy"}
        | {"scoring", "resolution"}
    ),
    "report": frozenset({"errors", "models", "scoring", "knowledge", "environment", "check"}),
    "observe": frozenset(
        {"errors", "models", "events", "environment", "knowledge", "lockfile", "install"}
    ),
    # the image jobs' decisions; locking goes through the StackLocker the api passes in
    # (never api, index or advice); events: the lock step reports where the job's go;
    # urls: a recipe's index is shown redacted
    "image": frozenset(
        {"errors", "models", "events", "urls", "environment", "knowledge", "lockfile", "observe"}
    ),
    # the team server sits under the composition root, which builds and starts it; it
    # answers from the knowledge store; the advice endpoints get the api's jobs injected
    # (advisor.server.calls.AdviceJobs), and the client posts through a Protocol
    # scoring: the dashboard plots each probe with the performance unit's statistics.
    # Both halves of the wire translate to and from the offline jobs' own values, which sit
    # below the composition root, so that api/ only wires: a call becomes the jobs' options
    # (server/job_options.py: options, check's CheckOptions, observe's SweepOptions), an
    # answer is written as the reports write it (report) and read back by the client as the
    # jobs' outcomes (options, check's CheckReport, environment: a lock's targets); the
    # client reads the inputs a lock records to send them (lockfile) and shows each request
    # as a progress step (events). None of these layers imports server: no cycle.
    "server": frozenset(
        {"errors", "models", "urls", "knowledge", "scoring", "environment", "events"}
        | {"options", "check", "observe", "report", "lockfile"}
    ),
    # the values the resolving jobs take and return, one layer below the composition root:
    # ResolveOptions split into each layer's small value, the lock's record made from the
    # options and back (lockfile), the outcomes (advice, scoring: their values), how advise
    # reports (report: the format); what the server's client and the jobs share;
    # resolution: the stack search's bounds (SearchOptions) that AdviseOptions derives;
    # knowledge: the team server's open store an advice may be given (AdviseOptions.
    # shared_store) and the source prefix of the curated folder it syncs
    "options": frozenset(
        {"errors", "models", "environment", "index", "request", "config", "lockfile"}
        | {"advice", "scoring", "report", "resolution", "knowledge"}
    ),
    "api": None,
    # the CLI parses, calls one api function per command and renders: it reaches the layers
    # below only through api (and report, to render), never around it. events: the CLI's
    # progress display implements the ProgressEvents Protocol the emitters call; a
    # dependency-free leaf it renders, not a layer it drives (and importing it through api
    # would load the whole api package with every command module at start-up). urls: the
    # command line and progress lines it shows lose their credentials by the one rule every
    # layer uses, a leaf too (api/output.py re-exported it for this alone)
    "cli": frozenset({"api", "report", "errors", "events", "urls"}),
}
# Names any module may take from the ``advisor`` package itself (anything else goes up to api).
ROOT_NAMES = frozenset({"__version__"})
# Layers any layer may import: leaves that import nothing of the package.
LEAVES = frozenset({"_version"})

# Third-party import name → the modules allowed to import it (a trailing "." allows a package).
SEAMS: dict[str, tuple[str, ...]] = {
    "httpx": ("advisor.index.fetch",),
    "resolvelib": ("advisor.resolution.",),
    "click": ("advisor.cli", "advisor.cli."),
    "rich": ("advisor.cli", "advisor.cli.", "advisor.report", "advisor.report."),
    "networkx": ("advisor.knowledge.graph",),
    "psycopg": ("advisor.knowledge.postgres_store",),
    "psycopg2": (),
    # the server's pool of connections: only the PostgreSQL store makes one
    "psycopg_pool": ("advisor.knowledge.postgres_store",),
    # the ASGI framework in the server package; the ASGI server in its runner only
    "starlette": ("advisor.server.",),
    "uvicorn": ("advisor.server.runner",),
    # sweeps on Dask: the client, the task a worker runs, the published sweeps, in one module
    "distributed": ("advisor.server.dispatch",),
    "dask": (),
    # the images' SBOM: CycloneDX's library (and its package-URL builder) in one module
    "cyclonedx": ("advisor.image.sbom",),
    "packageurl": ("advisor.image.sbom",),
    # TOML is parsed only by the reader of its own kind of file: locks in lockfile/ (the
    # lock's record included), the advisor configuration, pyproject inputs, curated
    # knowledge, benchmark probe files; never by api/ or cli/
    "tomllib": (
        "advisor.lockfile.",
        "advisor.config",
        "advisor.request.pyproject",
        "advisor.knowledge.sources.folder",
        "advisor.observe.probes",
        # a client's pyproject/advisor.toml, vetted before any job reads it (no indexes)
        "advisor.server.workspace",
    ),
}

# Not to be imported by ``import advisor.cli``: loaded lazily, by the commands that need them.
STARTUP_FORBIDDEN = (
    "httpx",
    "resolvelib",
    "rich",
    "msgspec",
    "packaging.pylock",
    "networkx",
    "psycopg",
    "psycopg_pool",
    "yaml",
    "starlette",
    "uvicorn",
    "cyclonedx",
    "distributed",
    "dask",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    """One import statement's target: ``module`` (dotted) and the name taken from it."""

    module: str
    name: str | None
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _all_modules()


def _imports(module: str, path: Path) -> list[Import]:
    """Every import in the file, relative ones made absolute; ``from a import b`` targets
    ``a.b`` when that is a module of the package, else ``a`` with name ``b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module=a.name, name=None, line=node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    found.append(Import(module=sub, name=None, line=node.lineno))
                else:
                    found.append(Import(module=base, name=alias.name, line=node.lineno))
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layering_violations(module: str) -> list[str]:
    mine = _layer(module)
    allowed = LAYERS[mine]
    bad = []
    for imp in _imports(module, MODULES[module]):
        if imp.module != "advisor" and not imp.module.startswith("advisor."):
            continue
        target = _layer(imp.module)
        where = f"{MODULES[module].relative_to(ROOT.parent)}:{imp.line}"
        what = imp.module + (f".{imp.name}" if imp.name else "")
        if target == "cli" and mine != "cli":
            bad.append(f"{where}: imports {what} (nothing imports the CLI)")
        elif target == "" and mine not in ("", "api", "cli") and imp.name not in ROOT_NAMES:
            bad.append(f"{where}: imports {what} from the package root (use the layer itself)")
        elif target in ("", mine) or target in LEAVES or allowed is None:
            continue
        elif target not in allowed:
            bad.append(f"{where}: imports {what} ({mine} may import {', '.join(sorted(allowed))})")
    return bad


def test_every_module_has_a_layer() -> None:
    unknown = sorted({_layer(m) for m in MODULES} - set(LAYERS))
    assert not unknown, f"add a layering rule (DESIGN.md) for advisor.{', advisor.'.join(unknown)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layering(module: str) -> None:
    if _layer(module) not in LAYERS:
        pytest.skip("no layering rule (test_every_module_has_a_layer fails)")
    assert _layering_violations(module) == []


def _seam_violations(library: str) -> list[str]:
    allowed = SEAMS[library]
    bad = []
    for module, path in MODULES.items():
        if any(
            module == a.rstrip(".") or (a.endswith(".") and module.startswith(a)) for a in allowed
        ):
            continue
        for imp in _imports(module, path):
            if imp.module.split(".")[0] == library:
                bad.append(f"{path.relative_to(ROOT.parent)}:{imp.line}: imports {imp.module}")
    return bad


@pytest.mark.parametrize("library", sorted(SEAMS))
def test_third_party_seam(library: str) -> None:
    assert _seam_violations(library) == [], f"{library} is allowed only in {SEAMS[library]}"


def test_cli_takes_no_any() -> None:
    """STYLE.md habit 4: ``Any`` only at raw TOML/JSON boundaries, and the CLI has none (it
    renders the api's typed values; click's parsed options are read as ``object``)."""
    found = [
        f"{path.relative_to(ROOT.parent)}:{imp.line}"
        for module, path in MODULES.items()
        if module == "advisor.cli" or module.startswith("advisor.cli.")
        for imp in _imports(module, path)
        if imp.module in {"typing", "typing_extensions"} and imp.name == "Any"
    ]
    assert found == [], "the CLI imports typing.Any: give the values their types"


def test_import_reader(tmp_path: Path) -> None:
    """The checker itself: absolute, relative, lazy and TYPE_CHECKING imports are all found,
    ``from package import submodule`` names the submodule."""
    source = tmp_path / "x.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import candidates\n"
        "from ..index import fetch\n"
        "from advisor.models import Pin\n"
        "if TYPE_CHECKING:\n"
        "    from advisor.index.cache import Cache\n"
        "def f() -> None:\n"
        "    import httpx.client\n",
        encoding="utf-8",
    )
    found = [(i.module, i.name, i.line) for i in _imports("advisor.resolution.x", source)]
    assert found == [
        ("typing", "TYPE_CHECKING", 1),
        ("advisor.resolution.candidates", None, 2),
        ("advisor.index.fetch", None, 3),
        ("advisor.models", "Pin", 4),
        ("advisor.index.cache", "Cache", 6),
        ("httpx.client", None, 8),
    ]


# Modules stay small (STYLE.md habit 1: under about 500 lines); past this many lines a module
# is split along a seam. A module that must stay longer is listed in LONG_MODULES (dotted
# name -> why), and the entry is dropped once the module fits again.
MAX_MODULE_LINES = 560
LONG_MODULES: dict[str, str] = {}


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _too_long(modules: dict[str, Path], *, limit: int) -> dict[str, int]:
    """Module -> its line count, for every module longer than ``limit`` lines."""
    counts = {module: _line_count(path) for module, path in modules.items()}
    return {module: n for module, n in sorted(counts.items()) if n > limit}


def test_modules_stay_small() -> None:
    long = _too_long(MODULES, limit=MAX_MODULE_LINES)
    grown = {m: n for m, n in long.items() if m not in LONG_MODULES}
    assert grown == {}, f"split these modules (line counts) below {MAX_MODULE_LINES} lines"
    fitting = sorted(m for m in LONG_MODULES if m not in long)
    assert fitting == [], "these modules fit now (or are gone): drop them from LONG_MODULES"


def test_module_length_reader(tmp_path: Path) -> None:
    """The counter itself: lines as an editor counts them, a final newline or not."""
    (tmp_path / "fits.py").write_text("x = 1\n" * 3, encoding="utf-8")
    (tmp_path / "long.py").write_text("x = 1\n" * 4, encoding="utf-8")
    (tmp_path / "long_unterminated.py").write_text("x = 1\n" * 3 + "x = 1", encoding="utf-8")
    modules = {p.stem: p for p in tmp_path.iterdir()}
    assert _too_long(modules, limit=3) == {"long": 4, "long_unterminated": 4}


# Import cycles among modules that are known and not broken yet: each entry is one strongly
# connected component of the import graph, lazy imports counted. The cycle test fails when a
# new cycle appears, when one of these grows, and when one is gone (then drop it here).
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()


def _top_level_lines(path: Path) -> set[int]:
    """Lines of the imports that run when the module is imported: at module level (in a
    class body, a ``try`` or an ``if`` too), not in a function, not under ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines: set[int] = set()

    def visit(nodes: list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.add(node.lineno)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # the blocks of a class, if, try (its handlers), with, for, while or match
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    visit(getattr(node, field, []))

    visit(list(tree.body))
    return lines


def _import_graph(*, lazy: bool) -> dict[str, set[str]]:
    """Module → the modules of ``advisor`` it imports (``lazy``: in functions and under
    ``TYPE_CHECKING`` too). ``from advisor import __version__`` is no edge: the package
    defines it without importing anything (its lazy re-export of the API is for other names)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        keep = None if lazy else _top_level_lines(path)
        graph[module] = {
            imp.module
            for imp in _imports(module, path)
            if imp.module in MODULES
            and imp.module != module
            and (keep is None or imp.line in keep)
            and not (imp.module == "advisor" and imp.name in ROOT_NAMES)
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _describe(cycle: frozenset[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & cycle))}" for m in sorted(cycle))


def test_no_import_cycle_at_import_time() -> None:
    graph = _import_graph(lazy=False)
    assert [_describe(c, graph) for c in _cycles(graph)] == []


def test_no_import_cycle_counting_lazy_imports() -> None:
    """Lazy and ``TYPE_CHECKING`` imports are dependencies too: two modules that import each
    other, however late, are one module in two files (the API's lock and advise jobs were)."""
    graph = _import_graph(lazy=True)
    cycles = _cycles(graph)
    new = [_describe(c, graph) for c in cycles if c not in KNOWN_CYCLES]
    assert new == [], "import cycles (module -> the modules of the cycle it imports)"
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert gone == [], "these cycles are broken: drop them from KNOWN_CYCLES"


def test_cycle_finder() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d", "f"}, "f": {"e"}}
    assert sorted(sorted(c) for c in _cycles(graph)) == [["a", "b", "c"], ["e", "f"]]


def test_top_level_lines(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import a\n"
        "else:\n"
        "    import b\n"
        "try:\n"
        "    import c\n"
        "except ImportError:\n"
        "    import d\n"
        "class K:\n"
        "    import e\n"
        "    def f(self) -> None:\n"
        "        import g\n"
        "def h() -> None:\n"
        "    import i\n"
        "match K:\n"
        "    case _:\n"
        "        import j\n",
        encoding="utf-8",
    )
    assert sorted(_top_level_lines(source)) == [1, 5, 7, 9, 11, 18]


@pytest.fixture(scope="module")
def cli_startup_modules() -> dict[str, object]:
    """``sys.modules`` (names) after ``import advisor.cli`` in a fresh interpreter."""
    code = (
        "import json, sys; import advisor, advisor.cli; "
        "print(json.dumps({'file': advisor.__file__, 'modules': sorted(sys.modules)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT.parent,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    assert Path(str(data["file"])).resolve() == ROOT / "__init__.py"
    return data


@pytest.mark.parametrize("library", STARTUP_FORBIDDEN)
def test_cli_import_is_lazy(library: str, cli_startup_modules: dict[str, object]) -> None:
    modules = cli_startup_modules["modules"]
    assert isinstance(modules, list)
    loaded = [m for m in modules if m == library or m.startswith(f"{library}.")]
    assert loaded == [], f"`import advisor.cli` imports {library} at start-up"


# --- one api call per command ----------------------------------------------------------------

# Commands that still call more than one function of ``advisor.api`` (issue 12: each command
# is one call to its job, which composes the rest): command → the api functions it calls. The
# test fails when another command calls more than one, when one of these calls more, and
# when one of these is down to one (then drop it here).
KNOWN_MULTI_CALL: dict[str, frozenset[str]] = {}


def _api_functions(nodes: Iterable[ast.AST]) -> dict[str, str]:
    """Local name → the ``advisor.api`` function it is bound to (``module.name`` under
    ``advisor.api``), for the ``from advisor.api… import`` statements among ``nodes``. Values
    (option classes, enums) are not calls to a job, so they are left out."""
    bound: dict[str, str] = {}
    for node in nodes:
        if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
            continue
        if node.module != "advisor.api" and not node.module.startswith("advisor.api."):
            continue
        for alias in node.names:
            value = getattr(importlib.import_module(node.module), alias.name)
            if callable(value) and not isinstance(value, type):
                where = node.module.removeprefix("advisor.api").lstrip(".")
                bound[alias.asname or alias.name] = f"{where}.{alias.name}".lstrip(".")
    return bound


def _command_api_calls(path: Path) -> dict[str, frozenset[str]]:
    """Per click command of a CLI module (a function decorated with ``….command(…)``): the
    api functions its body calls by name (its helpers' calls are not followed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_level = _api_functions(tree.body)
    found: dict[str, frozenset[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or not any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr == "command"
            for d in node.decorator_list
        ):
            continue
        bound = {**module_level, **_api_functions(ast.walk(node))}
        found[f"{path.stem}.{node.name}"] = frozenset(
            bound[call.func.id]
            for call in ast.walk(node)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in bound
        )
    return found


def _all_command_api_calls() -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for path in sorted((ROOT / "cli").glob("*.py")):
        found.update(_command_api_calls(path))
    return found


def test_each_command_is_one_api_call() -> None:
    commands = _all_command_api_calls()
    assert commands["check.check"] == {"check"}  # the checks, the lock selection, --fix
    assert commands["lock.lock"] == {"lock"}
    grown = {
        name: sorted(calls)
        for name, calls in commands.items()
        if len(calls) > 1 and calls != KNOWN_MULTI_CALL.get(name)
    }
    assert grown == {}, "a command calls several api functions: give its job one function"
    done = sorted(n for n in KNOWN_MULTI_CALL if len(commands.get(n, ())) <= 1)
    assert done == [], "these commands are one api call now: drop them from KNOWN_MULTI_CALL"


def test_command_api_calls_reader(tmp_path: Path) -> None:
    """The counter itself: calls of api functions bound at module level or in the command,
    aliased or not; option values are not calls; a helper that is not a command is skipped."""
    source = tmp_path / "demo.py"
    source.write_text(
        "from advisor.api import CheckOptions\n"
        "from advisor.api.knowledge import store_url\n"
        "@group.command('one')\n"
        "def one() -> None:\n"
        "    from advisor.api import check as run\n"
        "    run([], opts=CheckOptions())\n"
        "    run([], opts=CheckOptions())\n"
        "@cli.command()\n"
        "def two() -> None:\n"
        "    from advisor.api import lock\n"
        "    lock([], url=store_url(None))\n"
        "def helper() -> None:\n"
        "    store_url(None)\n",
        encoding="utf-8",
    )
    assert _command_api_calls(source) == {
        "demo.one": {"check"},
        "demo.two": {"lock", "knowledge.store_url"},
    }
