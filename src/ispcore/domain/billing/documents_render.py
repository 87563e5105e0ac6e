"""Turning invoice templates into HTML and PDF. Pure functions of their inputs: no database.

Templates are Jinja2, run in an immutable sandbox with autoescape (a template is written by
staff, not trusted: it cannot reach Python internals, change its inputs, or emit unescaped
values). PDFs are made by WeasyPrint, which may only load ``data:`` URLs: a template cannot
make the server fetch anything. WeasyPrint is CPU-bound; callers run it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ispcore.domain.billing.money import exponent, from_minor
from ispcore.domain.common.decimals import plain_output

#: Rendered HTML beyond this is refused (a runaway loop in a template stops here).
MAX_OUTPUT_CHARS = 2_000_000
PDF_MEDIA_TYPE = "application/pdf"

#: Currencies written with a symbol before the amount; others as "1,234.56 CHF".
SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "MXN": "$", "EUR": "€",
           "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$", "ZAR": "R", "NGN": "₦",
           "PHP": "₱", "KRW": "₩"}


class TemplateProblem(Exception):
    """The template does not compile or render; the message says where and why."""


@dataclass(frozen=True)
class Amount:
    """Money as a template sees it: prints formatted (``$1,234.50``); ``.value`` is the exact
    Decimal."""

    value: Decimal
    text: str

    def __str__(self) -> str:
        return self.text


def format_money(minor: int, currency: str) -> str:
    amount = from_minor(minor, currency)
    digits = f"{abs(amount):,.{exponent(currency)}f}"
    symbol = SYMBOLS.get(currency)
    text = f"{symbol}{digits}" if symbol else f"{digits} {currency}"
    return f"-{text}" if amount < 0 else text


def amount(minor: int, currency: str) -> Amount:
    return Amount(from_minor(minor, currency), format_money(minor, currency))


def _format_date(value: date | None, style: str = "long") -> str:
    if value is None:
        return ""
    if style == "iso":
        return value.isoformat()
    return f"{value:%b} {value.day}, {value.year}"


#: Operands a template's arithmetic may not exceed: ``9**9**9`` or ``"x" * 10**10`` would
#: hold the server (a template is rendered in process).
MAX_POWER = 100
MAX_REPEAT = 10_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with ``**`` and ``*`` kept to small operands."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise SecurityError(f"exponents above {MAX_POWER} are not allowed")
        if operator == "*" and any(isinstance(side, str | list | tuple) for side in
                                   (left, right)):
            count = right if isinstance(right, int) else left
            if isinstance(count, int) and count > MAX_REPEAT:
                raise SecurityError(f"repeating text more than {MAX_REPEAT} times is not "
                                    "allowed")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                lstrip_blocks=True, finalize=plain_output)
_ENV.filters["date"] = _format_date


def default_template() -> str:
    return files("ispcore").joinpath("templates/invoice.html").read_text("utf-8")


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def check_syntax(source: str) -> None:
    try:
        _compiled(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(f"The template does not compile{where}: {exc.message}") from None


def render_html(source: str, context: dict[str, Any]) -> str:
    """The HTML of ``source`` filled from ``context``; :class:`TemplateProblem` on any error
    (syntax, an unknown name, something the sandbox forbids, output too long)."""
    check_syntax(source)
    out, size = [], 0
    try:
        for chunk in _compiled(source).generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateProblem("The template's output is too long (a runaway loop?).")
            out.append(chunk)
    except SecurityError as exc:
        raise TemplateProblem(f"The template does something not allowed: {exc}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"The template does not render: {exc.message}") from None
    except TemplateProblem:
        raise
    except Exception as exc:  # e.g. a division by zero inside the template
        raise TemplateProblem(f"The template does not render: {type(exc).__name__}: "
                              f"{exc}") from None
    return "".join(out)


def _mark_css(mark: str | None) -> str:
    """A watermark and a heading on every page of a draft or void invoice, whatever the
    template does."""
    if not mark:
        return ""
    return (f'body::after {{ content: "{mark}" !important; position: fixed !important; '
            "top: 38% !important; left: 0 !important; right: 0 !important; "
            "text-align: center !important; font: bold 96pt sans-serif !important; "
            "color: rgba(200, 30, 30, 0.18) !important; transform: rotate(-30deg) "
            "!important; z-index: 1000 !important; } "
            f'@page {{ @top-center {{ content: "{mark}" !important; '
            "font: bold 14pt sans-serif !important; color: #c81e1e !important; } }")


def _document(html: str, mark: str | None) -> Any:
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False, timeout=1)
    stylesheets = [CSS(string=_mark_css(mark), url_fetcher=fetcher)] if mark else []
    return HTML(string=html, base_url=None, url_fetcher=fetcher).render(
        stylesheets=stylesheets)


def pdf_of(pages: list[tuple[str, str | None]]) -> tuple[bytes, int]:
    """One PDF of each (html, mark) in order, and its page count. CPU-bound: call it through
    ``asyncio.to_thread``."""
    documents = [_document(html, mark) for html, mark in pages]
    all_pages = [page for document in documents for page in document.pages]
    return documents[0].copy(all_pages).write_pdf(), len(all_pages)
