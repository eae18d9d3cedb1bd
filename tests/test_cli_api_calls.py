"""Architecture test beside ``test_architecture.py``: a CLI command makes one call of the API.

A command parses its options, calls one function of :mod:`advisor.api` (its job) and
renders what it returns; a command that calls the API, decides something, and calls it
again holds a decision that belongs below the composition root (``advisor image list`` made
three calls, ``advisor image build --push`` two). The commands are read with :mod:`ast`: along
each path through a command's body (an ``if`` and its ``else`` are two paths; an ``if``
that returns leaves the rest of the body to the other path), the calls of functions
imported from ``advisor.api`` (or a module under it) are counted, following the CLI's own
helper functions; a call in a loop counts twice (one per item is not one call). Classes
imported from the API (option values) are not calls of it; callbacks defined inside a
command are called by the API, not by the command.

The groups in :data:`ONE_CALL_GROUPS` are held to it; the others join as they get there.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import pytest

import advisor

ROOT = Path(advisor.__file__).resolve().parent
CLI = ROOT / "cli"

#: click groups (the name their commands are registered on) whose every command makes
#: exactly one API call along each path.
ONE_CALL_GROUPS = frozenset({"cache", "env", "image", "knowledge_group", "observe_group"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One click command: the group it is registered on, its name, module and function."""

    group: str
    name: str
    module: str
    node: ast.FunctionDef


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _trees() -> dict[str, ast.Module]:
    return {
        _module_name(p): ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for p in sorted(CLI.rglob("*.py"))
    }


TREES = _trees()


def _commands(trees: dict[str, ast.Module]) -> list[Command]:
    """Every function decorated ``@GROUP.command(...)`` (or ``@GROUP.command``)."""
    found = []
    for module, tree in trees.items():
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "command"
                    and isinstance(target.value, ast.Name)
                ):
                    name = node.name
                    if isinstance(deco, ast.Call) and deco.args:
                        first = deco.args[0]
                        if isinstance(first, ast.Constant) and isinstance(first.value, str):
                            name = first.value
                    found.append(
                        Command(group=target.value.id, name=name, module=module, node=node)
                    )
    return found


def _imports(nodes: list[ast.stmt]) -> dict[str, tuple[str, str]]:
    """Local name → (module, name) of the ``from X import name`` statements among
    ``nodes`` and in their blocks (not in nested functions)."""
    found: dict[str, tuple[str, str]] = {}
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _is_api_function(module: str, name: str) -> bool:
    if module != "advisor.api" and not module.startswith("advisor.api."):
        return False
    value = getattr(importlib.import_module(module), name)
    return callable(value) and not inspect.isclass(value)


class Counter:
    """The most API calls along one path of a function, over the CLI's modules ``trees``."""

    def __init__(self, trees: dict[str, ast.Module]) -> None:
        self.trees = trees
        self.seen: dict[tuple[str, str], int] = {}

    def function(self, module: str, node: ast.FunctionDef) -> int:
        key = (module, node.name)
        if key not in self.seen:
            self.seen[key] = 0  # a recursive helper counts once
            names = {**_imports(self.trees[module].body), **_imports(node.body)}
            self.seen[key] = self.block(node.body, module=module, names=names)
        return self.seen[key]

    def block(self, body: list[ast.stmt], *, module: str, names: dict[str, tuple[str, str]]) -> int:
        total = 0
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.If):
                test = self.expr(stmt.test, module=module, names=names)
                then = self.block(stmt.body, module=module, names=names)
                other = self.block(stmt.orelse, module=module, names=names)
                if stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise):
                    rest = self.block(body[i + 1 :], module=module, names=names)
                    return total + test + max(then, other + rest)
                total += test + max(then, other)
            elif isinstance(stmt, ast.For | ast.While | ast.AsyncFor):
                head = stmt.iter if isinstance(stmt, ast.For | ast.AsyncFor) else stmt.test
                inner = self.block(stmt.body, module=module, names=names)
                total += self.expr(head, module=module, names=names) + 2 * inner
            elif isinstance(stmt, ast.With):
                items = sum(
                    self.expr(w.context_expr, module=module, names=names) for w in stmt.items
                )
                total += items + self.block(stmt.body, module=module, names=names)
            elif isinstance(stmt, ast.Try):
                handlers = [self.block(h.body, module=module, names=names) for h in stmt.handlers]
                total += self.block(stmt.body, module=module, names=names) + max(
                    handlers, default=0
                )
                total += self.block(stmt.finalbody, module=module, names=names)
            elif not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                total += self.expr(stmt, module=module, names=names)
        return total

    def expr(self, node: ast.AST, *, module: str, names: dict[str, tuple[str, str]]) -> int:
        if isinstance(node, ast.Lambda):
            return 0  # a callback: called by the API, not by the command
        if isinstance(node, ast.IfExp):
            branches = (self.expr(n, module=module, names=names) for n in (node.body, node.orelse))
            return self.expr(node.test, module=module, names=names) + max(branches)
        count = sum(self.expr(n, module=module, names=names) for n in ast.iter_child_nodes(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            count += self.call(node.func.id, module=module, names=names)
        return count

    def call(self, name: str, *, module: str, names: dict[str, tuple[str, str]]) -> int:
        if name in names:
            where, attr = names[name]
            if _is_api_function(where, attr):
                return 1
            helper = self._function(where, attr)
            return 0 if helper is None else self.function(where, helper)
        helper = self._function(module, name)
        return 0 if helper is None else self.function(module, helper)

    def _function(self, module: str, name: str) -> ast.FunctionDef | None:
        tree = self.trees.get(module)
        if tree is None:
            return None
        return next(
            (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None
        )


COMMANDS = [c for c in _commands(TREES) if c.group in ONE_CALL_GROUPS]


def test_the_groups_have_commands() -> None:
    groups = {c.group for c in COMMANDS}
    assert groups == ONE_CALL_GROUPS
    assert {"list", "generate", "build", "push", "inspect"} <= {c.name for c in COMMANDS}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"{c.group} {c.name}")
def test_a_command_makes_one_api_call(command: Command) -> None:
    calls = Counter(TREES).function(command.module, command.node)
    assert calls == 1, (
        f"advisor {command.group} {command.name} ({command.module}.{command.node.name}) makes"
        f" {calls} API calls along one path: give the job one function in advisor.api"
    )


COUNTED = """
from advisor.cli._common import stderr

def helper() -> None:
    from advisor.api import check
    check()

def straight() -> None:
    from advisor.api import lock, advise, LockOptions
    lock(opts=LockOptions())
    advise()

def branches(flag: bool) -> None:
    from advisor.api import lock, advise
    if flag:
        lock()
        return
    advise()
    stderr()

def either(flag: bool) -> None:
    from advisor.api import lock, advise
    if flag:
        lock()
    else:
        advise()
    helper()

def looped(names: list[str]) -> None:
    from advisor.api import lock
    for name in names:
        lock(name)

def callbacks() -> None:
    from advisor.api import lock, advise
    def on_line(line: str) -> None:
        advise()
    lock(on_line=on_line, on_start=lambda: advise())
"""


@pytest.mark.parametrize(
    ("function", "calls"),
    [("straight", 2), ("branches", 1), ("either", 2), ("looped", 2), ("callbacks", 1)],
)
def test_counter(function: str, calls: int) -> None:
    """The counter itself: sequences add, branches take the longer path, an ``if`` that
    returns parts the rest, helpers are followed, loops count twice, classes and
    callbacks do not count."""
    tree = ast.parse(COUNTED)
    trees = {**TREES, "advisor.cli.sample": tree}
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    assert Counter(trees).function("advisor.cli.sample", node) == calls
