"""Invoice documents: the template (validated in a sandbox), invoice PDFs over HTTP (read back
with poppler and tesseract), print and email batches."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ispcore.domain.billing.documents import MAX_LOGO_BYTES
from tests.accounts.factories import _mutation, company_setup
from tests.accounts.factories import refused as refused_with
from tests.billing.factories import (
    MUTATIONS,
    account_view,
    add,
    billing_setup,
    customer,
    ok,
    refused,
    run_billing,
)

TEMPLATE_FIELDS = "html isDefault logo logoMediaType remittanceSlip footer"
BATCH_FIELDS = """id kind status invoiceCount issuedOn onlyPaperAccounts error pdfUrl
  items { position status recipient subject reason invoice { id number } }"""
MUTATIONS.update({
    "updateInvoiceTemplate": _mutation("updateInvoiceTemplate", "UpdateInvoiceTemplateInput",
                                       "invoiceTemplate", TEMPLATE_FIELDS),
    "resetInvoiceTemplate": _mutation("resetInvoiceTemplate", "ResetInvoiceTemplateInput",
                                      "invoiceTemplate", TEMPLATE_FIELDS),
    "createInvoicePrintBatch": _mutation("createInvoicePrintBatch", "CreateInvoiceBatchInput",
                                         "documentBatch", BATCH_FIELDS),
    "createInvoiceEmailBatch": _mutation("createInvoiceEmailBatch", "CreateInvoiceBatchInput",
                                         "documentBatch", BATCH_FIELDS),
})
TEMPLATE = f"""query($id: ID!) {{ invoiceTemplate(companyId: $id) {{ {TEMPLATE_FIELDS} }} }}"""
BATCH = f"""query($id: ID!) {{ documentBatch(id: $id) {{ {BATCH_FIELDS} }} }}"""
BATCHES = """query($id: ID!) { documentBatches(filter: {companyId: {eq: $id}}) {
  totalCount edges { node { id kind status } } } }"""



def _png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


PNG = _png()
SVG = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                       b'<rect width="10" height="10" fill="navy"/></svg>').decode()


async def invoiced(api: Any, runtime: Any, billing: Any = None, count: int = 1
                   ) -> tuple[Any, list[dict[str, Any]]]:
    """A company with ``count`` accounts billed today; their invoices."""
    billing = billing or await billing_setup(api)
    accounts = []
    for n in range(count):
        account = await customer(api, billing, name=f"Customer {n}")
        await add(api, billing, account, billing.fibre)
        accounts.append(account)
    await run_billing(api, runtime, billing)
    return billing, [(await account_view(api, billing, a))["invoices"][0] for a in accounts]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ocr(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(source),
                    str(tmp_path / "page")], check=True)
    [image] = list(tmp_path.glob("page*.png"))
    return subprocess.run(["tesseract", str(image), "-"], check=True, capture_output=True,
                          text=True).stdout


# --- the template -----------------------------------------------------------------------------

async def test_the_template_is_the_built_in_one_until_changed_and_reset(api: Any) -> None:
    billing = await billing_setup(api)
    first = (await api.data(TEMPLATE, {"id": billing.company}, billing.token))["invoiceTemplate"]
    assert first["isDefault"] and "remittance_slip" in first["html"]
    changed = await ok(api, billing.token, "updateInvoiceTemplate", {
        "companyId": billing.company, "html": "<p>{{ invoice.total }} {{ footer }}</p>",
        "footer": "Thanks!", "logo": PNG, "remittanceSlip": False})
    assert (changed["isDefault"], changed["logoMediaType"], changed["logo"], changed["footer"],
            changed["remittanceSlip"]) == (False, "image/png", PNG, "Thanks!", False)
    svg = await ok(api, billing.token, "updateInvoiceTemplate",
                   {"companyId": billing.company, "logo": f"data:image/svg+xml;base64,{SVG}"})
    assert svg["logoMediaType"] == "image/svg+xml"
    reset = await ok(api, billing.token, "resetInvoiceTemplate", {"companyId": billing.company})
    assert (reset["isDefault"], reset["footer"], reset["logoMediaType"]) == (
        True, "Thanks!", "image/svg+xml")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"html": "{% for x in %}"}, "does not compile"),
    ({"html": "{{ ''.__class__.__mro__ }}"}, "not allowed"),
    ({"html": "{{ invoice.total.__init__.__globals__ }}"}, "not allowed"),
    ({"html": "{{ invoice.nonsense }}"}, "does not render"),
    ({"html": "{{ invoice.lines.append(1) }}"}, "not allowed"),
    ({"html": "{{ 2 ** 99999999 }}"}, "not allowed"),
    ({"html": "{{ 'x' * 10 ** 10 }}"}, "not allowed"),
    ({"html": " "}, "needs some HTML"),
    ({"logo": "not base64!"}, "not valid base64"),
    ({"logo": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 20).decode()}, "PNG, JPEG or SVG"),
    ({"logo": base64.b64encode(b"<svg><script>alert(1)</script></svg>").decode()},
     "PNG, JPEG or SVG"),
    ({"logo": base64.b64encode(b"\x89PNG" + b"0" * MAX_LOGO_BYTES).decode()}, "at most"),
])
async def test_bad_templates_and_logos_are_refused_and_change_nothing(
        api: Any, fields: dict[str, Any], expected: str) -> None:
    billing = await billing_setup(api)
    [error] = await refused_with(api, billing.token, "updateInvoiceTemplate",
                                 {"companyId": billing.company, "footer": "new", **fields})
    assert error["field"] == ("html" if "html" in fields else "logo")
    assert error["code"] in ("INVALID", "REQUIRED") and expected in error["message"], error
    now = (await api.data(TEMPLATE, {"id": billing.company}, billing.token))["invoiceTemplate"]
    assert (now["isDefault"], now["footer"], now["logo"]) == (True, "", None)


async def test_changing_the_template_needs_billing_configure(api: Any) -> None:
    billing = await billing_setup(api)
    _user, token = await api.user_with_token("clerk@example.com",
                                             permissions=["billing:read", "billing:write"])
    body = await api.gql(MUTATIONS["updateInvoiceTemplate"][0],
                         {"input": {"companyId": billing.company, "footer": "x"}}, token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- invoice PDFs ----------------------------------------------------------------------------

async def test_an_invoice_pdf_shows_its_total(api: Any, runtime: Any, tmp_path: Path) -> None:
    billing, [invoice] = await invoiced(api, runtime)
    response = await api.client.get(f"/invoices/{invoice['id']}.pdf", headers=auth(
        billing.token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert invoice["number"] in response.headers["content-disposition"]
    text = ocr(response.content, tmp_path)
    total = f"${invoice['total']['amount']}"
    assert total in text, text
    assert invoice["number"] in text


async def test_invoice_pdfs_need_a_token_the_permission_and_the_company(
        api: Any, runtime: Any) -> None:
    billing, [invoice] = await invoiced(api, runtime)
    path = f"/invoices/{invoice['id']}.pdf"
    assert (await api.client.get(path)).status_code == 401
    assert (await api.client.get(path, headers=auth("nonsense"))).status_code == 401
    _user, clerk = await api.user_with_token("clerk@example.com",
                                             permissions=["accounts:read"])
    assert (await api.client.get(path, headers=auth(clerk))).status_code == 403
    other = await company_setup(api, billing.token, name="Bolt Net")
    scoped = f"{path}?companyId={other.company}"
    assert (await api.client.get(scoped, headers=auth(billing.token))).status_code == 404
    own = f"{path}?companyId={billing.company}"
    assert (await api.client.get(own, headers=auth(billing.token))).status_code == 200
    for missing in ("/invoices/999999.pdf", f"/invoices/{billing.company}.pdf"):
        assert (await api.client.get(missing, headers=auth(billing.token))).status_code == 404


async def test_drafts_and_void_invoices_are_marked(api: Any, runtime: Any,
                                                   tmp_path: Path) -> None:
    billing = await billing_setup(api, reviewDrafts=True)
    billing, [draft] = await invoiced(api, runtime, billing)
    response = await api.client.get(f"/invoices/{draft['id']}.pdf", headers=auth(
        billing.token))
    assert response.status_code == 200
    assert 'filename="invoice-draft-' in response.headers["content-disposition"]
    assert "DRAFT" in ocr(response.content, tmp_path)
    (tmp_path / "void").mkdir()
    await ok(api, billing.token, "voidInvoice", {"id": draft["id"], "reason": "Wrong"})
    voided = await api.client.get(f"/invoices/{draft['id']}.pdf", headers=auth(billing.token))
    assert "VOID" in ocr(voided.content, tmp_path / "void")


# --- batches ---------------------------------------------------------------------------------

async def test_a_print_batch_makes_one_pdf_and_runs_once(api: Any, runtime: Any) -> None:
    billing, invoices = await invoiced(api, runtime, count=3)
    batch = await ok(api, billing.token, "createInvoicePrintBatch",
                     {"companyId": billing.company})
    assert (batch["kind"], batch["status"], batch["invoiceCount"], batch["issuedOn"]) == (
        "PRINT", "QUEUED", 3, "2026-11-02")
    await runtime.jobs.drain()
    done = (await api.data(BATCH, {"id": batch["id"]}, billing.token))["documentBatch"]
    assert done["status"] == "DONE", done
    assert {i["status"] for i in done["items"]} == {"PRINTED"}
    assert sorted(i["invoice"]["id"] for i in done["items"]) == sorted(i["id"] for i in invoices)
    response = await api.client.get(done["pdfUrl"], headers=auth(billing.token))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.content)).pages) >= 3
    assert (await api.client.get(done["pdfUrl"])).status_code == 401

    from ispcore.domain.billing.document_batches import BATCH_JOB
    from ispcore.schema.nodes import decode_pk
    from ispcore.workers.registry import run_job

    pk = decode_pk("DocumentBatch", base64.b64decode(batch["id"]).decode().split(":")[1])
    await run_job(runtime, BATCH_JOB, batch_id=pk)
    again = await api.client.get(done["pdfUrl"], headers=auth(billing.token))
    assert again.content == response.content
    listed = (await api.data(BATCHES, {"id": billing.company}, billing.token))
    assert listed["documentBatches"]["totalCount"] == 1


async def test_a_batch_needs_invoices_and_billing_run(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    errors = await refused(api, billing.token, "createInvoicePrintBatch",
                           {"companyId": billing.company, "issuedOn": "2026-10-01"})
    assert errors == [("issuedOn", "NOT_FOUND")]
    _user, clerk = await api.user_with_token("clerk@example.com",
                                             permissions=["billing:read", "billing:write"])
    body = await api.gql(MUTATIONS["createInvoicePrintBatch"][0],
                         {"input": {"companyId": billing.company}}, clerk)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


OUTBOX = """query($a: ID!) { account(id: $a) { outboundMessages {
  recipient subject origin bodyText status lastError } } }"""


async def test_an_email_batch_records_recipients_or_why_not(api: Any, runtime: Any) -> None:
    billing, [emailed, paper] = await invoiced(api, runtime, count=2)
    emailed_account = emailed["account"]["id"]
    await ok(api, billing.token, "createContact", {
        "accountId": emailed_account, "name": "Pat Payer", "isFinancial": True,
        "emails": ["pat@example.com", "pat.other@example.com"]})
    batch = await ok(api, billing.token, "createInvoiceEmailBatch",
                     {"companyId": billing.company,
                      "invoiceIds": [emailed["id"], paper["id"]]})
    assert batch["issuedOn"] is None
    await runtime.jobs.drain()
    done = (await api.data(BATCH, {"id": batch["id"]}, billing.token))["documentBatch"]
    assert done["status"] == "DONE"
    by_invoice = {i["invoice"]["id"]: i for i in done["items"]}
    sent, skipped = by_invoice[emailed["id"]], by_invoice[paper["id"]]
    assert (sent["status"], sent["recipient"], sent["reason"]) == (
        "QUEUED", "pat@example.com", None)
    assert sent["subject"] == f"Invoice {emailed['number']} from Acme Fibre"
    assert (skipped["status"], skipped["recipient"]) == ("SKIPPED", None)
    assert "no email address" in skipped["reason"]
    outbox = (await api.data(OUTBOX, {"a": emailed_account}, billing.token))["account"]
    [message] = outbox["outboundMessages"]
    assert (message["recipient"], message["subject"], message["origin"]) == (
        "pat@example.com", sent["subject"], "document_batch")
    assert emailed["number"] in message["bodyText"] and "is attached" in message["bodyText"]
    # The company has no email settings yet: the sent log says so instead of losing it.
    assert message["status"] == "FAILED" and "no active email settings" in message["lastError"]

    paper_only = await ok(api, billing.token, "createInvoicePrintBatch",
                          {"companyId": billing.company, "onlyPaperAccounts": True})
    assert [i["invoice"]["id"] for i in paper_only["items"]] == [paper["id"]]


def test_templates_cannot_make_the_server_fetch_urls() -> None:
    """Only data: URLs load: a template's images, stylesheets and fonts elsewhere do not."""
    import http.server
    import threading

    from ispcore.domain.billing.documents_render import pdf_of

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        html = (f'<link rel="stylesheet" href="{base}/a.css"><style>@import "{base}/b.css";'
                f'</style><img src="{base}/c.png"><img src="file:///etc/hostname">'
                f'<img src="data:image/png;base64,{PNG}"><p>Hello</p>')
        content, pages = pdf_of([(html, None)])
    finally:
        server.shutdown()
    assert content.startswith(b"%PDF") and pages == 1
    assert hits == []
