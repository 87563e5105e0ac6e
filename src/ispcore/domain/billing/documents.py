"""Invoice templates (one per company: the HTML, a logo, the remittance slip, a footer) and
rendering invoices to PDF with them."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
from typing import Any

from sqlalchemy import select

from ispcore.domain.billing.documents_context import invoice_contexts, sample_context
from ispcore.domain.billing.documents_models import InvoiceTemplate
from ispcore.domain.billing.documents_render import (
    TemplateProblem,
    default_template,
    pdf_of,
    render_html,
)
from ispcore.domain.billing.models import Invoice
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import company_of, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event

MAX_HTML_CHARS = 200_000
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 4000 * 4000
SVG = "image/svg+xml"


async def company_template(uow: UnitOfWork, company_id: int, *, create: bool = False
                           ) -> InvoiceTemplate:
    """The company's template row; without one, the built-in settings (saved if
    ``create``)."""
    row = await uow.session.scalar(select(InvoiceTemplate).where(
        InvoiceTemplate.company_id == company_id))
    if row is None:
        now = uow.clock.now()
        row = InvoiceTemplate(company_id=company_id, html=None, logo=None,
                              logo_media_type=None, remittance_slip=True, footer="",
                              created_at=now, updated_at=now)
        if create:
            uow.session.add(row)
            await uow.session.flush()
    return row


def _raster(data: bytes, fmt: str) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.format != fmt:
            raise ValueError
        if image.width * image.height > MAX_LOGO_PIXELS:
            raise ValueError
        image.verify()


def _svg(data: bytes) -> None:
    """A plain SVG document: no DTD or entities (entity expansion bombs), no scripts."""
    import xml.etree.ElementTree as ET

    text = data.decode("utf-8")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE) or re.search(
            r"<script|\bon\w+\s*=", text, re.IGNORECASE):
        raise ValueError
    root = ET.fromstring(text)
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        raise ValueError


def decode_logo(text: str) -> tuple[bytes, str]:
    """A PNG, JPEG or SVG logo given as base64 (a ``data:`` URL is accepted too)."""
    raw = re.sub(r"^data:[\w/+.-]+;base64,", "", text.strip())
    if len(raw) > MAX_LOGO_BYTES * 4 // 3 + 8:
        raise DomainError(f"A logo is at most {MAX_LOGO_BYTES // 1024} KB.", field="logo")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("The logo is not valid base64.", field="logo") from None
    if len(data) > MAX_LOGO_BYTES:
        raise DomainError(f"A logo is at most {MAX_LOGO_BYTES // 1024} KB.", field="logo")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        media_type, check = "image/png", lambda d: _raster(d, "PNG")
    elif data.startswith(b"\xff\xd8\xff"):
        media_type, check = "image/jpeg", lambda d: _raster(d, "JPEG")
    else:
        media_type, check = SVG, _svg
    try:
        check(data)
    except Exception:
        raise DomainError("A logo is a PNG, JPEG or SVG image (an SVG without scripts or "
                          "entities).", field="logo") from None
    return data, media_type


async def update_template(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                          ) -> InvoiceTemplate:
    """Change the template; the HTML must compile and render a sample invoice, or nothing
    is saved."""
    company = await company_of(uow, company_id, "company_id")
    row = await company_template(uow, company.id)
    v = Validator()
    changes: dict[str, Any] = {}
    if "html" in values:
        html = values["html"]
        if not (html or "").strip():
            v.add("html", "A template needs some HTML (resetInvoiceTemplate restores the "
                  "built-in one).", ErrorCode.REQUIRED)
        elif len(html) > MAX_HTML_CHARS:
            v.add("html", f"A template is at most {MAX_HTML_CHARS} characters.")
        else:
            changes["html"] = html
    if "logo" in values:
        if values["logo"] is None:
            changes.update(logo=None, logo_media_type=None)
        else:
            try:
                changes["logo"], changes["logo_media_type"] = decode_logo(values["logo"])
            except DomainError as exc:
                v.errors.append(exc)
    if values.get("remittance_slip") is not None:
        changes["remittance_slip"] = bool(values["remittance_slip"])
    if "footer" in values:
        changes["footer"] = (values["footer"] or "").strip()
        v.fit_columns(InvoiceTemplate, {"footer": changes["footer"]})
    v.raise_if_any()
    trial = InvoiceTemplate(**{k: getattr(row, k) for k in (
        "html", "logo", "logo_media_type", "remittance_slip", "footer")} | changes)
    try:
        # Off the event loop, like every render: a slow template holds one thread only.
        await asyncio.to_thread(render_html, trial.html or default_template(),
                                sample_context(company, trial, today_in(uow, company)))
    except TemplateProblem as exc:
        raise DomainError(str(exc), field="html") from None
    return await _save(uow, row, changes)


async def reset_template(uow: UnitOfWork, company_id: int) -> InvoiceTemplate:
    """The built-in HTML again; the logo, footer and slip setting stay."""
    company = await company_of(uow, company_id, "company_id")
    return await _save(uow, await company_template(uow, company.id), {"html": None})


async def _save(uow: UnitOfWork, row: InvoiceTemplate, changes: dict[str, Any]
                ) -> InvoiceTemplate:
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    if row.id is None:
        uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "invoice_template.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(k for k in changes if k != "logo_media_type"),
                          "default_html": row.html is None})
    return row


def _render(source: str, contexts: list[dict[str, Any]]) -> tuple[bytes, int]:
    pages = [(render_html(source, context), context["mark"]) for context in contexts]
    return pdf_of(pages)


async def render_invoices(session: Any, company: Any, invoices: list[Invoice]
                          ) -> tuple[bytes, int]:
    """One PDF of ``invoices`` (of ``company``) and its page count. A saved template that no
    longer renders (e.g. after a change of what templates are given) falls back to the
    built-in one, so invoices always print."""
    template = await session.scalar(select(InvoiceTemplate.html).where(
        InvoiceTemplate.company_id == company.id))
    contexts = await invoice_contexts(session, company, invoices)
    try:
        return await asyncio.to_thread(_render, template or default_template(), contexts)
    except TemplateProblem:
        if template is None:
            raise
        return await asyncio.to_thread(_render, default_template(), contexts)
