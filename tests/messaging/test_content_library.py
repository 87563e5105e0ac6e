"""Message categories and saved messages: created, listed, changed and deleted with the usual
checks; contacts' notification preferences are set and read on Contact, and opting out of a
category customers cannot leave is refused."""

from __future__ import annotations

from typing import Any

from tests.billing.factories import billing_setup, ok, refused
from tests.messaging.content_support import customer_with_contacts
from tests.support import count_statements

LISTS = """query($companyId: ID!) {
  messageCategories(filter: {companyId: {eq: $companyId}}, orderBy: [{field: NAME}]) {
    totalCount edges { node { name customersCanOptOut } } }
  savedMessages(filter: {search: "welcome"}) { totalCount edges { node { name channel
    category { name } } } } }"""
CONTACT = """query($id: ID!) { node(id: $id) { ... on Contact { notificationPreferences {
  emailOptOut smsOptOut optedOutCategories { name } } } } }"""


async def test_categories_and_saved_messages_are_managed_and_listed(api: Any) -> None:
    billing = await billing_setup(api)
    token, company = billing.token, billing.company
    news = await ok(api, token, "createMessageCategory", {"companyId": company,
                                                         "name": "News"})
    await ok(api, token, "createMessageCategory", {"companyId": company, "name": "Billing",
                                                   "customersCanOptOut": False})
    assert await refused(api, token, "createMessageCategory", {
        "companyId": company, "name": "NEWS"}) == [("name", "DUPLICATE")]
    saved = await ok(api, token, "createSavedMessage", {
        "companyId": company, "name": "Welcome", "channel": "EMAIL", "categoryId": news["id"],
        "subject": "Welcome, {{ account.name }}", "bodyText": "Your number: "
        "{{ account.number|default('pending') }}"})
    assert saved["category"] == {"id": news["id"]}
    assert await refused(api, token, "createSavedMessage", {
        "companyId": company, "name": "Bad", "channel": "SMS",
        "bodyText": "{{ invoice.total }}"}) == [("bodyText", "INVALID")]
    assert await refused(api, token, "createSavedMessage", {
        "companyId": company, "name": "Empty", "channel": "SMS",
        "bodyHtml": "<p>only html</p>"}) == [("bodyText", "REQUIRED")]

    lists = await api.data(LISTS, {"companyId": company}, token)
    assert [(e["node"]["name"], e["node"]["customersCanOptOut"])
            for e in lists["messageCategories"]["edges"]] == [("Billing", False),
                                                              ("News", True)]
    assert [(e["node"]["name"], e["node"]["channel"], e["node"]["category"]["name"])
            for e in lists["savedMessages"]["edges"]] == [("Welcome", "EMAIL", "News")]

    changed = await ok(api, token, "updateSavedMessage", {"id": saved["id"],
                                                          "channel": "SMS"})
    assert changed["channel"] == "SMS"
    renamed = await ok(api, token, "updateMessageCategory", {"id": news["id"],
                                                             "name": "Newsletter"})
    assert renamed["name"] == "Newsletter"
    await ok(api, token, "deleteSavedMessage", {"id": saved["id"]})
    await ok(api, token, "deleteMessageCategory", {"id": news["id"]})
    lists = await api.data(LISTS, {"companyId": company}, token)
    assert (lists["messageCategories"]["totalCount"], lists["savedMessages"]["totalCount"]) == (
        1, 0)


async def test_notification_preferences_are_set_and_read_on_the_contact(api: Any) -> None:
    billing = await billing_setup(api)
    token, company = billing.token, billing.company
    jane = await customer_with_contacts(api, billing)
    news = await ok(api, token, "createMessageCategory", {"companyId": company,
                                                         "name": "News"})
    bills = await ok(api, token, "createMessageCategory", {
        "companyId": company, "name": "Billing", "customersCanOptOut": False})

    assert (await api.data(CONTACT, {"id": jane.primary}, token))["node"][
        "notificationPreferences"] == {"emailOptOut": False, "smsOptOut": False,
                                       "optedOutCategories": []}
    await ok(api, token, "updateContactNotificationPreferences", {
        "contactId": jane.primary, "smsOptOut": True, "optedOutCategoryIds": [news["id"]]})
    assert await refused(api, token, "updateContactNotificationPreferences", {
        "contactId": jane.primary, "emailOptOut": True,
        "optedOutCategoryIds": [bills["id"]]}) == [("optedOutCategoryIds", "INVALID")]
    # Omitted fields stay; the refused change wrote nothing.
    await ok(api, token, "updateContactNotificationPreferences", {"contactId": jane.primary})
    assert (await api.data(CONTACT, {"id": jane.primary}, token))["node"][
        "notificationPreferences"] == {"emailOptOut": False, "smsOptOut": True,
                                       "optedOutCategories": [{"name": "News"}]}


async def test_a_page_of_triggers_costs_the_same_statements_whatever_its_size(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    token, company = billing.token, billing.company
    query = """{ messageTriggers(first: 50) { edges { node { eventType
      template { name } category { name } company { name } } } } }"""

    async def statements_for_a_page() -> int:
        with count_statements(runtime) as seen:
            await api.data(query, None, token)
        return len(seen)

    async def add_triggers(numbers: range) -> None:
        for number in numbers:
            category = await ok(api, token, "createMessageCategory", {
                "companyId": company, "name": f"Category {number}"})
            template = await ok(api, token, "createMessageTemplate", {
                "companyId": company, "name": f"Template {number}", "bodyText": "Hi"})
            await ok(api, token, "createMessageTrigger", {
                "companyId": company, "eventType": "PAYMENT_RECEIVED",
                "templateId": template["id"], "categoryId": category["id"]})

    await add_triggers(range(2))
    few = await statements_for_a_page()
    await add_triggers(range(2, 8))
    assert await statements_for_a_page() == few
