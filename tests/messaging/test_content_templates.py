"""Message templates are checked when saved: only the variables of their event type, no name
starting with _, no syntax beyond variables, {% if %} and safe filters. Bad input is a
UserError and writes nothing. The variables are listed per event type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.factories import billing_setup, ok
from tests.messaging.content_support import TEMPLATE_FIELDS

CREATE = f"""mutation($input: CreateMessageTemplateInput!) {{ createMessageTemplate(input: $input)
  {{ messageTemplate {{ {TEMPLATE_FIELDS} }} errors {{ field code message }} }} }}"""
TEMPLATES = "{ messageTemplates { totalCount } }"
VARIABLES = """query($type: MessageEventType) { messageTemplateVariables(eventType: $type) {
  name type description example } }"""


async def test_the_variables_of_each_event_type_are_listed(api: Any) -> None:
    token = await api.admin_token()
    base = (await api.data(VARIABLES, {"type": None}, token))["messageTemplateVariables"]
    names = [v["name"] for v in base]
    assert names == ["account.name", "account.number", "account.balance", "company.name",
                     "contact.name", "today"]
    invoice = (await api.data(VARIABLES, {"type": "INVOICE_ISSUED"}, token))[
        "messageTemplateVariables"]
    total = next(v for v in invoice if v["name"] == "invoice.total")
    assert (total["type"], total["example"]) == ("MONEY", "$64.00")
    assert [v["name"] for v in invoice][:6] == names
    usage = (await api.data(VARIABLES, {"type": "USAGE_THRESHOLD_REACHED"}, token))[
        "messageTemplateVariables"]
    assert {"usage.percent", "usage.used_gb", "usage.allowance_gb"} <= {
        v["name"] for v in usage}


@pytest.mark.parametrize(("field", "source", "says"), [
    ("bodyText", "Hi {{ account.nmae }}", "Unknown variable 'account.nmae'"),
    ("bodyText", "{{ invoice.total }}", "Unknown variable 'invoice.total'"),  # not this event
    ("subject", "{{ account.__class__ }}", "names starting with _"),
    ("bodyHtml", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "names starting with _"),
    ("bodyText", "{{ account.name.__class__ }}", "names starting with _"),
    ("bodyText", "{% for x in account %}{{ x }}{% endfor %}", "For is not allowed"),
    ("bodyText", "{{ account['name'] }}", "Getitem is not allowed"),
    ("bodyText", "{{ cycler.__init__.__globals__ }}", "names starting with _"),
    ("bodyText", "{{ range(10) }}", "Call is not allowed"),
    ("bodyText", "{{ account.name|attr('upper') }}", "The filter 'attr' is not allowed"),
    ("bodyText", "{% set x = 1 %}", "Assign is not allowed"),
    ("bodyText", "{% include 'secrets.txt' %}", "Include is not allowed"),
    ("bodyText", "{{ account.name ", "does not compile"),
])
async def test_a_bad_template_is_refused_and_nothing_is_saved(
        api: Any, field: str, source: str, says: str) -> None:
    billing = await billing_setup(api)
    content = {"subject": "Hello", "bodyText": "Hello {{ account.name }}", field: source}
    result = (await api.data(CREATE, {"input": {
        "companyId": billing.company, "name": "Bad", "eventType": "PAYMENT_RECEIVED",
        **content}}, billing.token))["createMessageTemplate"]
    assert result["messageTemplate"] is None
    [error] = result["errors"]
    assert (error["field"], error["code"]) == (field, "INVALID")
    assert says in error["message"]
    assert (await api.data(TEMPLATES, None, billing.token))["messageTemplates"][
        "totalCount"] == 0


async def test_conditions_filters_and_money_values_are_accepted(api: Any) -> None:
    billing = await billing_setup(api)
    made = await ok(api, billing.token, "createMessageTemplate", {
        "companyId": billing.company, "name": "Overdue", "eventType": "ACCOUNT_DELINQUENT",
        "subject": "{{ company.name|upper }}: {{ account.name|default('customer') }}",
        "bodyText": "{% if delinquency.overdue.value > 100 and account.number %}"
                    "{{ delinquency.overdue }} on {{ delinquency.invoice_numbers }}"
                    "{% elif today %}soon{% else %}-{% endif %}"})
    assert made["eventType"] == "ACCOUNT_DELINQUENT"
    changed = await ok(api, billing.token, "updateMessageTemplate", {
        "id": made["id"], "eventType": None, "bodyText": "Hi {{ contact.name|title }}"})
    assert (changed["eventType"], changed["bodyText"]) == (None, "Hi {{ contact.name|title }}")
    # Without an event type, only the account's variables.
    errors = (await api.data(
        """mutation($input: UpdateMessageTemplateInput!) { updateMessageTemplate(input: $input)
        { errors { field code } } }""",
        {"input": {"id": made["id"], "subject": "{{ delinquency.overdue }}"}},
        billing.token))["updateMessageTemplate"]["errors"]
    assert errors == [{"field": "subject", "code": "INVALID"}]
