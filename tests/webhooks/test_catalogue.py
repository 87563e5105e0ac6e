"""The event catalogue names every event type the source records."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ispcore
from ispcore.domain.events.catalogue import EVENT_TYPES, matches, unknown_patterns

SOURCE = Path(ispcore.__file__).parent


def _strings(node: ast.AST) -> list[str]:
    """The event names an argument can be: a literal, either branch of ``a if c else b``, or an
    f-string as a pattern (``radius_action.{status}`` -> ``radius_action\\.\\w+``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    if isinstance(node, ast.JoinedStr):
        return ["".join(re.escape(part.value) if isinstance(part, ast.Constant) else r"\w+"
                        for part in node.values)]
    return []


def _parameter_values(tree: ast.Module, function: ast.FunctionDef, name: str) -> list[str]:
    """What callers in the same module pass as ``function``'s parameter ``name``."""
    params = [a.arg for a in function.args.args]
    found = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == function.name:
            args = {params[i]: a for i, a in enumerate(call.args)}
            args.update({k.arg: k.value for k in call.keywords if k.arg})
            if name in args:
                found += _strings(args[name])
    return found


def recorded_patterns() -> dict[str, str]:
    """Pattern -> where, for every event type recorded in src/."""
    found: dict[str, str] = {}
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        functions = [f for f in ast.walk(tree) if isinstance(f, ast.AsyncFunctionDef |
                                                              ast.FunctionDef)]
        for function in functions:
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "id", getattr(call.func, "attr", None))
                values: list[str] = []
                if name == "record_event" and len(call.args) >= 2:
                    arg = call.args[1]
                    values = (_parameter_values(tree, function, arg.id)
                              if isinstance(arg, ast.Name) else _strings(arg))
                    assert values, f"{path}:{call.lineno}: an event type this test cannot read"
                elif name == "record_events":
                    values = [v for d in ast.walk(call) if isinstance(d, ast.Dict)
                              for k, val in zip(d.keys, d.values, strict=True)
                              if isinstance(k, ast.Constant) and k.value == "type"
                              for v in _strings(val)]
                for value in values:
                    found[value] = f"{path.relative_to(SOURCE)}:{call.lineno}"
    return found


def test_every_recorded_event_type_is_in_the_catalogue():
    patterns = recorded_patterns()
    assert len(patterns) > 100  # the scan sees the whole source
    missing = {p: where for p, where in patterns.items()
               if not any(re.fullmatch(p, name) for name in EVENT_TYPES)}
    assert missing == {}


def test_wildcards_name_a_known_prefix():
    assert unknown_patterns(["invoice.*", "account.created", "*"]) == []
    assert unknown_patterns(["invoices.*", "account.create"]) == ["invoices.*", "account.create"]
    assert matches(["invoice.*"], "invoice.issued")
    assert not matches(["invoice.*"], "invoice_template.updated")
