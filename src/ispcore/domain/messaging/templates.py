"""Message templates in Jinja2, checked when saved and rendered in a sandbox.

Staff write templates; they are not trusted. Three walls: the template's syntax tree may hold
only plain nodes (output, ``{% if %}`` conditions, comparisons, a few filters — no loops,
calls, ``{% set %}``, imports or item access); every name must be a variable of the trigger's
catalogue (:mod:`ispcore.domain.messaging.variables`) and no name may start with ``_``; and
rendering runs in Jinja's immutable sandbox with ``StrictUndefined``. HTML bodies autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ispcore.domain.common.decimals import plain_output
from ispcore.domain.common.errors import ErrorCode, Validator
from ispcore.domain.messaging.variables import VariableType, catalogue

#: Filters a template may use; anything else is refused at save time.
SAFE_FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "truncate",
                          "default", "round", "int", "string", "length", "replace", "e",
                          "escape", "abs", "striptags"})
#: Syntax a template may use.
ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.If, nodes.Name,
    nodes.Getattr, nodes.Filter, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
    nodes.Not, nodes.CondExpr, nodes.Concat, nodes.Add, nodes.Sub, nodes.Neg, nodes.Pos,
    nodes.Keyword)
#: What an SMS may hold once rendered (ten concatenated parts).
MAX_SMS_CHARS = 1600
#: A rendered body beyond this is cut (templates cannot loop, so this is generous).
MAX_BODY_CHARS = 500_000

_TEXT = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined,
                                      trim_blocks=True, lstrip_blocks=True,
                                      finalize=plain_output)
_HTML = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined,
                                      trim_blocks=True, lstrip_blocks=True,
                                      finalize=plain_output)


@dataclass(frozen=True)
class Content:
    subject: str
    body_text: str
    body_html: str | None = None


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None


def _chain(node: nodes.Getattr | nodes.Name) -> tuple[list[str], bool]:
    """The names of an attribute chain (``account.balance.value``), and whether it starts at
    a variable name (rather than, say, a string literal)."""
    parts = []
    base: nodes.Node = node
    while isinstance(base, nodes.Getattr):
        parts.append(base.attr)
        base = base.node
    if isinstance(base, nodes.Name):
        parts.append(base.name)
    return list(reversed(parts)), isinstance(base, nodes.Name)


class _Checker:
    def __init__(self, event_type: str | None) -> None:
        variables = catalogue(event_type)
        self.leaves = {v.name for v in variables}
        self.leaves |= {f"{v.name}.value" for v in variables if v.type is VariableType.MONEY}
        self.problems: list[str] = []

    def visit(self, node: nodes.Node) -> None:
        if not isinstance(node, ALLOWED_NODES):
            self.problems.append(f"{type(node).__name__} is not allowed in a message "
                                 "template (use variables, {% if %} and filters).")
        elif isinstance(node, nodes.Getattr | nodes.Name):
            self._name(node)
            return
        elif isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            self.problems.append(f"The filter {node.name!r} is not allowed.")
        for child in node.iter_child_nodes():
            self.visit(child)

    def _name(self, node: nodes.Getattr | nodes.Name) -> None:
        parts, on_a_name = _chain(node)
        name = ".".join(parts)
        if any(part.startswith("_") for part in parts):
            self.problems.append(f"{name!r}: names starting with _ are not allowed.")
        elif not on_a_name:
            self.problems.append("Attributes may only follow a variable name.")
        elif name not in self.leaves:
            self.problems.append(f"Unknown variable {name!r}.")


def problems(source: str, event_type: str | None) -> list[str]:
    """What is wrong with ``source`` as a template for ``event_type`` (empty: nothing)."""
    try:
        tree = _TEXT.parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return [f"The template does not compile{f' (line {line})' if line else ''}: "
                f"{exc.message}"]
    checker = _Checker(event_type)
    checker.visit(tree)
    return list(dict.fromkeys(checker.problems))


def check_content(v: Validator, content: dict[str, Any], event_type: str | None, *,
                  sms: bool = False) -> None:
    """Add an error on ``v`` for each field (``subject``, ``body_text``, ``body_html``)
    whose template is bad, and when the message has no body."""
    for field in ("subject", "body_text", "body_html"):
        source = content.get(field)
        found = problems(source, event_type) if source else []
        if found:
            v.add(field, "; ".join(found))
    has_html = not sms and bool((content.get("body_html") or "").strip())
    if not (content.get("body_text") or "").strip() and not has_html:
        v.add("body_text", "A message needs a body.", ErrorCode.REQUIRED)


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    return (_HTML if html else _TEXT).from_string(source)


class RenderError(Exception):
    """A template failed at render time (a value the checks could not foresee)."""


def _render(source: str, values: dict[str, Any], *, html: bool) -> str:
    try:
        return _compiled(source, html).render(values)[:MAX_BODY_CHARS]
    except TemplateError as exc:
        raise RenderError(str(exc)) from None


def render(content: Content, values: dict[str, Any]) -> Rendered:
    """The message for one recipient. ``values`` is the nested context."""
    subject = " ".join(_render(content.subject, values, html=False).split())
    return Rendered(
        subject=subject[:500],
        body_text=_render(content.body_text, values, html=False),
        body_html=_render(content.body_html, values, html=True) if content.body_html
        else None)
