"""What invoices show of data usage: ``dataUsage`` (billable and free apart, per account on the
invoice, child accounts included; loaded for a whole page at once) and the PDF's data usage
block (read back with poppler and tesseract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.billing.factories import at, run_billing
from tests.billing.test_documents import auth, ocr
from tests.support import count_statements
from tests.usage.billing_support import DATA_USAGE, capped, child_of, invoices, on_fibre, use
from tests.usage.support import GB, Usage, usage_setup

PAGE = f"""query($companyId: ID!) {{ invoices(filter: {{companyId: {{eq: $companyId}}}},
  first: 50) {{ edges {{ node {{ id dataUsage {{ {DATA_USAGE} }} }} }} }} }}"""


async def parent_and_child(api: Any, runtime: Any, clock: Any) -> tuple[Usage, str]:
    """A capped parent and a child billed to it, both used in November; billed 1 December."""
    usage = await usage_setup(api)
    await capped(runtime, usage, free=((3, 0, 1440),))  # Wednesdays are free
    billing = usage.billing
    child = await child_of(api, usage)
    await run_billing(api, runtime, billing)
    clock.set(at("2026-11-20"))
    await use(runtime, usage, "2026-11-10", 530)
    await use(runtime, usage, "2026-11-11", 40)
    await use(runtime, Usage(billing, child), "2026-11-12", 120.5)
    clock.set(at("2026-12-01"))
    await run_billing(api, runtime, billing)
    return usage, child


async def test_an_invoice_shows_each_account_s_billable_and_free_usage(
        api: Any, runtime: Any, clock: Any) -> None:
    usage, child = await parent_and_child(api, runtime, clock)
    december, november, october = await invoices(api, usage.billing, usage.account)
    parent_usage, child_usage = december["dataUsage"]
    assert parent_usage == {
        "accountId": {"id": usage.account}, "periodStart": "2026-11-01",
        "periodEnd": "2026-12-01", "billableIn": 477 * GB, "billableOut": 53 * GB,
        "billable": 530 * GB, "freeIn": 36 * GB, "freeOut": 4 * GB, "free": 40 * GB,
        "allowance": 500 * GB, "overageBlocks": 3}
    assert (child_usage["accountId"]["id"], child_usage["billable"], child_usage["free"],
            child_usage["allowance"], child_usage["overageBlocks"]) == (
        child, 120_500_000_000, 0, 500 * GB, 0)
    # November's invoice was made on 1 November: October's usage (none, settled) is on it.
    assert [(u["periodStart"], u["billable"], u["allowance"]) for u in november["dataUsage"]
            ] == [("2026-10-01", 0, 500 * GB), ("2026-10-01", 0, 500 * GB)]
    assert october["dataUsage"] == []


async def test_data_usage_costs_the_same_statements_for_a_longer_page(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    billing = usage.billing
    await run_billing(api, runtime, billing)

    async def page() -> tuple[int, int]:
        with count_statements(runtime) as seen:
            data = await api.data(PAGE, {"companyId": billing.company}, billing.token)
        return len(data["invoices"]["edges"]), len(seen)

    small = await page()
    for n in range(3):
        await on_fibre(api, billing, f"Customer {n}")
    await run_billing(api, runtime, billing)
    large = await page()
    assert (small[0], large[0]) == (2, 8)
    assert small[1] == large[1]


async def test_the_invoice_pdf_prints_the_data_usage(
        api: Any, runtime: Any, clock: Any, tmp_path: Path) -> None:
    usage, _child = await parent_and_child(api, runtime, clock)
    december, *_ = await invoices(api, usage.billing, usage.account)
    response = await api.client.get(f"/invoices/{december['id']}.pdf",
                                    headers=auth(usage.billing.token))
    assert response.status_code == 200, response.text
    text = ocr(response.content, tmp_path)
    assert "Data usage" in text, text
    usage_block = text.split("Data usage", 1)[1].replace(" ", "")
    # Per account: billable, free (OCR may drop the space before GB), the allowance, blocks.
    assert "JaneDoe" in usage_block and "Unit4" in usage_block, text
    for row in ("530GB40GB500GB3", "120.50GB0GB500GB0"):
        assert row in usage_block, (row, text)
