"""Payment batches closed into deposit slips, and NACHA files of ACH debits (parsed back
field by field, as a bank would read them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.accounts.account_queries import pk_of
from tests.accounts.factories import MUTATIONS, _mutation
from tests.billing.collect_support import add_method, bank_account, charge
from tests.billing.factories import account_view, billing_setup, events_of, ok, refused
from tests.billing.payment_support import PAYMENT_FIELDS, invoiced_customer, payment_of

BATCH_FIELDS = """id name status depositSlipNumber depositedOn paymentCount total { amount }
  totals { method count total { amount } } payments { id reference amount { amount } }"""
ACH_FIELDS = """id createdOn effectiveOn fileIdModifier entryCount total { amount } content
  payments { id status }"""
MUTATIONS.update({
    "openPaymentBatch": _mutation("openPaymentBatch", "OpenPaymentBatchInput", "paymentBatch",
                                  BATCH_FIELDS),
    "recordBatchPayments": _mutation("recordBatchPayments", "RecordBatchPaymentsInput",
                                     "payments", PAYMENT_FIELDS),
    "closePaymentBatch": _mutation("closePaymentBatch", "ClosePaymentBatchInput",
                                   "paymentBatch", BATCH_FIELDS),
    "createAchFile": _mutation("createAchFile", "CreateAchFileInput", "achFile", ACH_FIELDS),
})


def cheque(account: str, amount: str, number: str) -> dict[str, Any]:
    return {"accountId": account, "amount": amount, "method": "CHECK", "reference": number}


async def test_cheques_entered_in_a_batch_close_into_a_deposit_slip(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    first = await invoiced_customer(api, runtime, clock, billing, months=1, name="Ann")
    second = await invoiced_customer(api, runtime, clock, billing, months=1, name="Bob")
    batch = await ok(api, billing.token, "openPaymentBatch",
                     {"companyId": billing.company, "name": "Monday post"})
    assert (batch["status"], batch["paymentCount"]) == ("OPEN", 0)

    # One bad line refuses the whole entry: nothing is recorded.
    assert await refused(api, billing.token, "recordBatchPayments", {
        "batchId": batch["id"], "payments": [cheque(first, "63.75", "101"),
                                             cheque(second, "0", "102")]}) == [
        ("payments[1].amount", "INVALID")]
    recorded = await ok(api, billing.token, "recordBatchPayments", {
        "batchId": batch["id"], "payments": [
            cheque(first, "63.75", "101"), cheque(second, "50.00", "102"),
            {"accountId": second, "amount": "13.75", "method": "CASH"}]})
    assert [p["status"] for p in recorded] == ["COMPLETED"] * 3
    assert (await account_view(api, billing, second))["balance"]["amount"] == "0.00"

    slip = await ok(api, billing.token, "closePaymentBatch",
                    {"id": batch["id"], "depositedOn": "2026-11-03"})
    assert (slip["status"], slip["depositSlipNumber"], slip["depositedOn"],
            slip["paymentCount"], slip["total"]["amount"]) == (
        "CLOSED", f"DS-{pk_of(batch['id']):06d}", "2026-11-03", 3, "127.50")
    assert [(t["method"], t["count"], t["total"]["amount"]) for t in slip["totals"]] == [
        ("CASH", 1, "13.75"), ("CHECK", 2, "113.75")]
    assert await refused(api, billing.token, "recordBatchPayments", {
        "batchId": batch["id"], "payments": [cheque(first, "1", "103")]}) == [
        ("batchId", "INVALID")]
    assert await refused(api, billing.token, "closePaymentBatch", {"id": batch["id"]}) == [
        ("id", "INVALID")]
    assert len(await events_of(api, billing.token, "payment_batch.closed")) == 1


ORIGINATOR = {"achDestinationRouting": "071000013", "achDestinationName": "Chase Bank",
              "achOriginId": "1234567890", "achOriginName": "Acme Fibre",
              "achCompanyId": "1234567890", "achCompanyName": "Acme Fibre",
              "achOdfiRouting": "071000013", "achOffsetRouting": "071000013",
              "achOffsetAccount": "99887766", "achEntryDescription": "INTERNET"}


async def _ach_payment(api: Any, billing: Any, account: str, amount: str,
                       account_number: str, routing: str, kind: str = "CHECKING") -> str:
    """A bank account on file and an ACH debit of it, waiting for the next file."""
    method = await add_method(api, billing, bank_account(
        account, accountNumber=account_number, routingNumber=routing, bankAccountType=kind))
    payment = await charge(api, billing, method["id"], amount)
    assert (payment["status"], payment["method"]) == ("PENDING", "ACH")
    return payment["id"]


def parse_nacha(text: str) -> dict[str, Any]:
    """Read a NACHA file back, checking what a bank checks."""
    lines = text.split("\n")
    assert lines[-1] == ""
    records = lines[:-1]
    assert all(len(r) == 94 for r in records)
    assert len(records) % 10 == 0
    header, batch, control, file_control = records[0], records[1], None, None
    assert header[0] == "1" and header[34:37] == "094" and header[37:39] == "10"
    assert batch[0] == "5" and batch[50:53] == "PPD"
    entries = []
    for record in records[2:]:
        if record[0] == "6":
            entries.append({"code": record[1:3], "routing": record[3:12],
                            "account": record[12:29].strip(),
                            "amount": int(record[29:39]), "id": record[39:54].strip(),
                            "name": record[54:76].strip(), "trace": record[79:94]})
        elif record[0] == "8":
            control = record
        elif record[0] == "9" and record != "9" * 94:
            file_control = record
    assert control is not None and file_control is not None
    debits = sum(e["amount"] for e in entries if e["code"] in ("27", "37"))
    credits = sum(e["amount"] for e in entries if e["code"] in ("22", "32"))
    entry_hash = sum(int(e["routing"][:8]) for e in entries) % 10**10
    assert int(control[4:10]) == len(entries) == int(file_control[13:21])
    assert int(control[10:20]) == entry_hash == int(file_control[21:31])
    assert int(control[20:32]) == debits == int(file_control[31:43])
    assert int(control[32:44]) == credits == int(file_control[43:55])
    assert int(file_control[7:13]) == len(records) // 10
    for e in entries:  # the routing numbers' own check digits
        digits = [int(d) for d in e["routing"]]
        assert sum(d * w for d, w in zip(digits, (3, 7, 1) * 3, strict=True)) % 10 == 0
    return {"header": header, "batch": batch, "entries": entries, "debits": debits,
            "credits": credits}


async def test_a_nacha_file_collects_the_days_ach_debits_balanced(
        api: Any, runtime: Any, clock: Any, vault_key: str) -> None:
    billing = await billing_setup(api)
    ann = await invoiced_customer(api, runtime, clock, billing, months=1, name="Ann")
    bob = await invoiced_customer(api, runtime, clock, billing, months=1, name="Bob")
    assert await refused(api, billing.token, "createAchFile",
                         {"companyId": billing.company}) == [("companyId", "REQUIRED")]
    assert await refused(api, billing.token, "updatePaymentSettings", {
        "companyId": billing.company, **ORIGINATOR, "achOdfiRouting": "071000014"}) == [
        ("achOdfiRouting", "INVALID")]
    settings = await ok(api, billing.token, "updatePaymentSettings",
                        {"companyId": billing.company, **ORIGINATOR})
    assert settings["achOffsetAccountSet"] is True
    first = await _ach_payment(api, billing, ann, "63.75", "000123456789", "011000015")
    second = await _ach_payment(api, billing, bob, "50.00", "55512", "021000021", "SAVINGS")

    made = await ok(api, billing.token, "createAchFile", {"companyId": billing.company})
    parsed = parse_nacha(made["content"])
    assert [(e["code"], e["routing"], e["account"], e["amount"]) for e in parsed["entries"]] == [
        ("27", "011000015", "000123456789", 6375), ("37", "021000021", "55512", 5000),
        ("22", "071000013", "99887766", 11375)]
    assert parsed["debits"] == parsed["credits"] == 11375  # balanced by the offset
    assert parsed["header"][13:23] == "1234567890" and parsed["header"][33] == "A"
    assert parsed["batch"][53:63] == "INTERNET  "
    assert [e["trace"][:8] for e in parsed["entries"]] == ["07100001"] * 3
    assert (made["entryCount"], made["total"]["amount"], made["fileIdModifier"]) == (
        3, "113.75", "A")
    assert {p["status"] for p in made["payments"]} == {"COMPLETED"}
    assert (await account_view(api, billing, ann))["balance"]["amount"] == "0.00"
    assert (await account_view(api, billing, bob))["balance"]["amount"] == "13.75"
    # The file holds account numbers: sealed at rest, shown only with billing:run.
    async with runtime.db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT * FROM ach_files"))).all()
    assert stored and not any("000123456789" in str(row) for row in stored)
    _user, reader = await api.user_with_token("reader@example.com",
                                              permissions=["billing:read"])
    body = await api.gql("""query { achFiles { edges { node { total { amount } content } } } }""",
                         None, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Collected payments are in no later file; a returned entry is reversed like a cheque.
    assert await refused(api, billing.token, "createAchFile",
                         {"companyId": billing.company}) == [("date", "INVALID")]
    returned = await ok(api, billing.token, "reversePayment",
                        {"id": second, "reason": "R01 insufficient funds"})
    assert returned["status"] == "REVERSED"
    assert (await payment_of(api, billing, first))["status"] == "COMPLETED"


async def test_removing_a_bank_account_cancels_its_uncollected_debits(
        api: Any, runtime: Any, clock: Any, vault_key: str) -> None:
    billing = await billing_setup(api)
    ann = await invoiced_customer(api, runtime, clock, billing, months=1, name="Ann")
    await ok(api, billing.token, "updatePaymentSettings",
             {"companyId": billing.company, **ORIGINATOR})
    method = await add_method(api, billing, bank_account(ann))
    payment = await charge(api, billing, method["id"], "63.75")
    await ok(api, billing.token, "removePaymentMethod", {"id": method["id"]})
    stored = await payment_of(api, billing, payment["id"])
    assert (stored["status"], stored["failureReason"]) == (
        "FAILED", "The bank account was removed before collection.")
    assert await refused(api, billing.token, "createAchFile",
                         {"companyId": billing.company}) == [("date", "INVALID")]
    assert (await account_view(api, billing, ann))["balance"]["amount"] == "63.75"
