"""Every Azure SDK call of activities/, found by reading the source (`ast`): tests/infra/test_roles.py maps each to
the RBAC actions it needs.

A call is `<client>.<operations group>.<method>` or `<client>.<method>` where the client comes from the one client
factory (`clients().<factory method>(...)`, `failover.clients.ClientFactory`), directly or through a name, a helper
that returns it, a tuple a helper returns, or a parameter some call passes it in (followed across activities/).
Closures (nested functions, lambdas) see their enclosing function's names. A method passed without being called
(`arm(client.session_hosts.update, ...)`) counts too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from failover.clients import ClientFactory, EventPublisher
from local.stack import ROOT

ACTIVITIES = ROOT / "activities"

Kind = tuple[str, ...]  # ("client", factory) | ("group", factory, group) | ("tuple", index-free marker)


def factory_methods() -> set[str]:
    """ClientFactory methods that return an SDK client (or the Event Grid publisher)."""
    found = set()
    for name, value in vars(ClientFactory).items():
        function = getattr(value, "__wrapped__", value)
        if name.startswith("_") or not callable(function):
            continue
        # the annotation as written: the SDKs are imported under TYPE_CHECKING only (imported when first used)
        returned = str(getattr(function, "__annotations__", {}).get("return", "")).strip("'\"")
        if returned.endswith("Client") or returned == EventPublisher.__name__:
            found.add(name)
    return found


class _Module:
    def __init__(self, path: Path) -> None:
        self.name = path.stem
        self.tree = ast.parse(path.read_text(), str(path))
        self.functions = {
            node.name: node for node in self.tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }


class Finder:
    def __init__(self, root: Path = ACTIVITIES) -> None:
        self.factory = factory_methods()
        self.modules = [_Module(p) for p in sorted(root.glob("*.py"))]
        # function name -> (module, node): module-level functions of activities/, names unique across it
        self.functions: dict[str, tuple[_Module, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for module in self.modules:
            for name, node in module.functions.items():
                self.functions.setdefault(name, (module, node))
        self.params: dict[tuple[str, str], set[Kind]] = defaultdict(set)  # (function, parameter) -> kinds
        self.returns: dict[str, list[set[Kind]]] = {}  # function -> kinds of each returned element
        self.calls: set[tuple[str, str]] = set()

    # ---- kinds of expressions -----------------------------------------------------------------
    def kinds(self, node: ast.AST, scope: dict[str, set[Kind]]) -> set[Kind]:
        if isinstance(node, ast.Name):
            return scope.get(node.id, set())
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "clients"
                and func.attr in self.factory
            ):
                return {("client", func.attr)}
            if isinstance(func, ast.Name) and func.id in self.returns:
                first = self.returns[func.id]
                return first[0] if len(first) == 1 else set()
            return set()
        if isinstance(node, ast.Attribute):
            return {("group", k[1], node.attr) for k in self.kinds(node.value, scope) if k[0] == "client"}
        return set()

    # ---- one function, with the names it sees ---------------------------------------------------
    def visit(self, module: _Module, function: ast.AST, outer: dict[str, set[Kind]]) -> None:
        scope = {k: set(v) for k, v in outer.items()}
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for arg in function.args.args + function.args.kwonlyargs:
                scope.setdefault(arg.arg, set())
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    scope[arg.arg] = scope[arg.arg] | self.params.get((function.name, arg.arg), set())
        body = function.body if isinstance(function.body, list) else [function.body]
        nested: list[ast.AST] = []
        for statement in body:
            for node in ast.walk(statement):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not function:
                    nested.append(node)
        # assignments first (in source order), then calls and attributes
        for statement in body:
            for node in self._own_nodes(statement):
                if isinstance(node, ast.Assign):
                    self._assign(node.targets, node.value, scope)
        for statement in body:
            for node in self._own_nodes(statement):
                self._record(module, node, scope)
                if isinstance(node, ast.Return) and node.value is not None and isinstance(function, ast.FunctionDef):
                    elements = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                    kinds = [self.kinds(e, scope) for e in elements]
                    if any(kinds):
                        self.returns[function.name] = kinds
        for inner in nested:
            if self._parent_function(inner, function):
                self.visit(module, inner, scope)

    def _own_nodes(self, statement: ast.AST) -> list[ast.AST]:
        """The nodes of a statement, not descending into nested functions and lambdas."""
        found, stack = [], [statement]
        while stack:
            node = stack.pop()
            found.append(node)
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    stack.append(child)
        return found

    def _parent_function(self, inner: ast.AST, function: ast.AST) -> bool:
        """`inner` is directly nested in `function` (not in a function nested deeper)."""
        body = function.body if isinstance(function.body, list) else [function.body]
        for statement in body:
            for node in self._own_nodes(statement):
                for child in ast.iter_child_nodes(node):
                    if child is inner:
                        return True
            if statement is inner:
                return True
        return False

    def _assign(self, targets: list[ast.expr], value: ast.expr, scope: dict[str, set[Kind]]) -> None:
        for target in targets:
            if isinstance(target, ast.Name):
                kinds = self.kinds(value, scope)
                if kinds:
                    scope[target.id] = scope.get(target.id, set()) | kinds
            elif isinstance(target, ast.Tuple) and isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                returned = self.returns.get(value.func.id, [])
                for element, kinds in zip(target.elts, returned, strict=False):
                    if isinstance(element, ast.Name) and kinds:
                        scope[element.id] = scope.get(element.id, set()) | kinds

    def _record(self, module: _Module, node: ast.AST, scope: dict[str, set[Kind]]) -> None:
        if isinstance(node, ast.Attribute):
            for kind in self.kinds(node.value, scope):
                if kind[0] == "group":
                    self.calls.add((module.name, f"{kind[1]}.{kind[2]}.{node.attr}"))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                for kind in self.kinds(func.value, scope):
                    if kind[0] == "client":
                        self.calls.add((module.name, f"{kind[1]}.{func.attr}"))
            if isinstance(func, ast.Name) and func.id in self.functions:
                _, callee = self.functions[func.id]
                names = [a.arg for a in callee.args.args]
                passed = list(zip(names, node.args, strict=False))
                passed += [(k.arg, k.value) for k in node.keywords if k.arg]
                for name, arg in passed:
                    kinds = self.kinds(arg, scope)
                    if kinds:
                        self.params[(func.id, name)] |= kinds

    def run(self) -> set[tuple[str, str]]:
        """(activities module, "<factory>.<group>.<method>" or "<factory>.<method>") of every call."""
        before = -1
        while before != self._size():  # until parameters and returns stop growing
            before = self._size()
            self.calls = set()
            for module in self.modules:
                for function in module.functions.values():
                    self.visit(module, function, {})
        return self.calls

    def _size(self) -> int:
        return sum(len(v) for v in self.params.values()) + sum(len(v) for v in self.returns.values())


def sdk_calls() -> set[tuple[str, str]]:
    return Finder().run()
