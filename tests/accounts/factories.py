"""Building accounts and their settings through the API, as an integrator would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERRORS = "errors { field code message }"


async def ok(api: Any, token: str, mutation: str, input: dict[str, Any]) -> dict[str, Any]:
    """Run ``mutation(input: $input)`` (a field name), which must succeed; its payload."""
    query, selection = MUTATIONS[mutation]
    payload = (await api.data(query, {"input": input}, token))[mutation]
    assert payload["errors"] == [], payload
    return payload[selection] if selection else payload


async def refused(api: Any, token: str, mutation: str, input: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """Run a mutation that must fail with errors; returns them."""
    query, _selection = MUTATIONS[mutation]
    payload = (await api.data(query, {"input": input}, token))[mutation]
    assert payload["errors"], payload
    return payload["errors"]


def _mutation(name: str, input_type: str, selection: str | None, fields: str
              ) -> tuple[str, str | None]:
    body = f"{selection} {{ {fields} }}" if selection and fields else (selection or fields)
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {body} {ERRORS} }} }}",
            selection)


ACCOUNT_FIELDS = """id name accountNumber activationDate disconnectedOn disconnectReason
  leadSource billToParent accountStatus { id name } accountType { id name }
  parentAccount { id } groups { id name }"""
CONTACT_FIELDS = """id name role isPrimary isFinancial portalUsername emails
  phoneNumbers { number extension phoneNumberType { id name } } account { id }"""
ADDRESS_FIELDS = """id line1 line2 unit city subdivision postalCode country latitude longitude
  fccLocationId serviceable formatted currentAccount { id }"""

MUTATIONS: dict[str, tuple[str, str | None]] = {
    "createCompany": _mutation("createCompany", "CreateCompanyInput", "company", "id"),
    "createAccountType": _mutation("createAccountType", "CreateAccountTypeInput",
                                   "accountType", "id name description"),
    "updateAccountType": _mutation("updateAccountType", "UpdateAccountTypeInput",
                                   "accountType", "id name description"),
    "deleteAccountType": _mutation("deleteAccountType", "IdInput", "deletedId", ""),
    "createAccountStatus": _mutation(
        "createAccountStatus", "CreateAccountStatusInput", "accountStatus",
        "id name countsAsActive isDelinquent isLead isDisconnectDefault color"),
    "updateAccountStatus": _mutation(
        "updateAccountStatus", "UpdateAccountStatusInput", "accountStatus",
        "id name countsAsActive isDelinquent isLead isDisconnectDefault color"),
    "deleteAccountStatus": _mutation("deleteAccountStatus", "IdInput", "deletedId", ""),
    "createAccountGroup": _mutation("createAccountGroup", "CreateAccountGroupInput",
                                    "accountGroup", "id name"),
    "deleteAccountGroup": _mutation("deleteAccountGroup", "IdInput", "deletedId", ""),
    "createPhoneNumberType": _mutation("createPhoneNumberType", "CreatePhoneNumberTypeInput",
                                       "phoneNumberType", "id name canReceiveSms"),
    "deletePhoneNumberType": _mutation("deletePhoneNumberType", "IdInput", "deletedId", ""),
    "createAccount": _mutation("createAccount", "CreateAccountInput", "account",
                               ACCOUNT_FIELDS),
    "updateAccount": _mutation("updateAccount", "UpdateAccountInput", "account",
                               ACCOUNT_FIELDS),
    "deleteAccount": _mutation("deleteAccount", "IdInput", "deletedId", ""),
    "changeAccountStatus": _mutation("changeAccountStatus", "ChangeAccountStatusInput",
                                     "account", ACCOUNT_FIELDS),
    "disconnectAccount": _mutation("disconnectAccount", "DisconnectAccountInput", None,
                                   f"account {{ {ACCOUNT_FIELDS} }} scheduledEvent "
                                   "{ id runOn status action parameters }"),
    "reactivateAccount": _mutation("reactivateAccount", "ReactivateAccountInput", "account",
                                   ACCOUNT_FIELDS),
    "convertLead": _mutation("convertLead", "ConvertLeadInput", "account", ACCOUNT_FIELDS),
    "createContact": _mutation("createContact", "CreateContactInput", "contact",
                               CONTACT_FIELDS),
    "updateContact": _mutation("updateContact", "UpdateContactInput", "contact",
                               CONTACT_FIELDS),
    "deleteContact": _mutation("deleteContact", "IdInput", "deletedId", ""),
    "setPrimaryContact": _mutation("setPrimaryContact", "IdInput", "contact", CONTACT_FIELDS),
    "setContactPortalLogin": _mutation("setContactPortalLogin", "SetContactPortalLoginInput",
                                       "contact", CONTACT_FIELDS),
    "removeContactPortalLogin": _mutation("removeContactPortalLogin", "IdInput", "contact",
                                          CONTACT_FIELDS),
    "createServiceableAddress": _mutation(
        "createServiceableAddress", "CreateServiceableAddressInput", "serviceableAddress",
        ADDRESS_FIELDS),
    "updateServiceableAddress": _mutation(
        "updateServiceableAddress", "UpdateServiceableAddressInput", "serviceableAddress",
        ADDRESS_FIELDS),
    "deleteServiceableAddress": _mutation("deleteServiceableAddress", "IdInput", "deletedId",
                                          ""),
    "moveAccountToAddress": _mutation("moveAccountToAddress", "MoveAccountToAddressInput",
                                      "account", "id physicalAddress { id }"),
    "moveAccountOut": _mutation("moveAccountOut", "MoveAccountOutInput", "account",
                                "id physicalAddress { id }"),
    "setAccountPostalAddress": _mutation(
        "setAccountPostalAddress", "SetAccountPostalAddressInput", "account",
        "id mailingAddress { line1 city country formatted } billingAddress { line1 city }"),
    "clearAccountPostalAddress": _mutation(
        "clearAccountPostalAddress", "ClearAccountPostalAddressInput", "account",
        "id mailingAddress { line1 } billingAddress { line1 }"),
    "createNote": _mutation("createNote", "CreateNoteInput", "note",
                            "id body pinned priority author { email } account { id } "
                            "serviceableAddress { id }"),
    "updateNote": _mutation("updateNote", "UpdateNoteInput", "note", "id body pinned priority"),
    "deleteNote": _mutation("deleteNote", "IdInput", "deletedId", ""),
    "createTask": _mutation("createTask", "CreateTaskInput", "task",
                            "id title description dueAt completed assignee { email }"),
    "updateTask": _mutation("updateTask", "UpdateTaskInput", "task",
                            "id title dueAt assignee { email }"),
    "completeTask": _mutation("completeTask", "CompleteTaskInput", "task",
                              "id completed completedAt completedBy { email }"),
    "deleteTask": _mutation("deleteTask", "IdInput", "deletedId", ""),
    "createCallLog": _mutation("createCallLog", "CreateCallLogInput", "callLog",
                               "id direction durationSeconds notes occurredAt contact { id } "
                               "user { email }"),
    "updateCallLog": _mutation("updateCallLog", "UpdateCallLogInput", "callLog",
                               "id direction durationSeconds notes contact { id }"),
    "deleteCallLog": _mutation("deleteCallLog", "IdInput", "deletedId", ""),
    "createCustomField": _mutation("createCustomField", "CreateCustomFieldInput",
                                   "customField",
                                   "id name entityType dataType options required unique"),
    "updateCustomField": _mutation("updateCustomField", "UpdateCustomFieldInput",
                                   "customField",
                                   "id name entityType dataType options required unique"),
    "deleteCustomField": _mutation("deleteCustomField", "IdInput", "deletedId", ""),
    "scheduleAccountEvent": _mutation("scheduleAccountEvent", "ScheduleAccountEventInput",
                                      "scheduledEvent",
                                      "id action runOn dueAt status parameters outcome "
                                      "executedAt account { id }"),
    "cancelScheduledEvent": _mutation("cancelScheduledEvent", "IdInput", "scheduledEvent",
                                      "id status"),
}


@dataclass
class Setup:
    """A company with the usual settings: types, statuses, a group, phone number types."""

    token: str
    company: str
    residential: str
    business: str
    active: str
    lead: str
    inactive: str
    suspended: str
    delinquent: str
    mobile: str
    home: str


async def company_setup(api: Any, token: str | None = None, *, name: str = "Acme Fibre",
                        time_zone: str = "America/Chicago", country: str = "US") -> Setup:
    token = token or await api.admin_token()
    company = (await ok(api, token, "createCompany",
                        {"name": name, "currency": "USD", "timeZone": time_zone,
                         "country": country}))["id"]

    async def status(name: str, **flags: Any) -> str:
        return (await ok(api, token, "createAccountStatus",
                         {"companyId": company, "name": name, **flags}))["id"]

    async def kind(name: str) -> str:
        return (await ok(api, token, "createAccountType",
                         {"companyId": company, "name": name}))["id"]

    async def phone(name: str, sms: bool) -> str:
        return (await ok(api, token, "createPhoneNumberType",
                         {"companyId": company, "name": name, "canReceiveSms": sms}))["id"]

    return Setup(
        token=token, company=company,
        residential=await kind("Residential"), business=await kind("Business"),
        active=await status("Active", countsAsActive=True),
        lead=await status("Lead", countsAsActive=False, isLead=True),
        inactive=await status("Inactive", countsAsActive=False, isDisconnectDefault=True),
        suspended=await status("Suspended", countsAsActive=False),
        delinquent=await status("Delinquent", countsAsActive=True, isDelinquent=True),
        mobile=await phone("Mobile", True), home=await phone("Home", False),
    )


async def new_account(api: Any, setup: Setup, name: str = "Jane Doe", **fields: Any
                      ) -> dict[str, Any]:
    return await ok(api, setup.token, "createAccount",
                    {"companyId": setup.company, "name": name,
                     "accountTypeId": setup.residential, "accountStatusId": setup.active,
                     **fields})


async def new_address(api: Any, setup: Setup, line1: str = "100 Main St", **fields: Any
                      ) -> dict[str, Any]:
    return await ok(api, setup.token, "createServiceableAddress",
                    {"companyId": setup.company, "line1": line1, "city": "Springfield",
                     "subdivision": "IL", "postalCode": "62701", "country": "US", **fields})


# Added for the settings tests: updating groups and phone number types.
MUTATIONS.update({
    "updateAccountGroup": _mutation("updateAccountGroup", "UpdateAccountGroupInput",
                                    "accountGroup", "id name description"),
    "updatePhoneNumberType": _mutation("updatePhoneNumberType", "UpdatePhoneNumberTypeInput",
                                       "phoneNumberType", "id name canReceiveSms"),
})
