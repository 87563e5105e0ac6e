"""RADIUS set up through the API, as an integrator would: a NAS, a speed group templated from
the service, and an account whose fibre service has a RADIUS login."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.accounts.factories import MUTATIONS, _mutation
from tests.billing.factories import Billing, add, billing_setup, customer, ok

NAS_FIELDS = "id name address kind coaPort coaMode active"
GROUP_FIELDS = "id name attributes { attribute op value templated }"
CREDENTIAL_FIELDS = """id username password access accessState removedAt
  radiusGroup { id } effectiveGroup { id name } replies { attribute op value }
  accountService { id }"""
SETTINGS_FIELDS = """releaseOnDisconnect releaseHoldDays delinquentAction suspendedAction
  delinquentAddressList suspendedAddressList delinquentRadiusGroup { id }
  suspendedRadiusGroup { id } defaultRadiusGroup { id }"""
MUTATIONS.update({
    "createNasClient": _mutation("createNasClient", "CreateNasClientInput", "nasClient",
                                 NAS_FIELDS),
    "updateNasClient": _mutation("updateNasClient", "UpdateNasClientInput", "nasClient",
                                 NAS_FIELDS),
    "deleteNasClient": _mutation("deleteNasClient", "IdInput", "deletedId", ""),
    "createRadiusGroup": _mutation("createRadiusGroup", "CreateRadiusGroupInput",
                                   "radiusGroup", GROUP_FIELDS),
    "updateRadiusGroup": _mutation("updateRadiusGroup", "UpdateRadiusGroupInput",
                                   "radiusGroup", GROUP_FIELDS),
    "deleteRadiusGroup": _mutation("deleteRadiusGroup", "IdInput", "deletedId", ""),
    "createRadiusCredential": _mutation("createRadiusCredential",
                                        "CreateRadiusCredentialInput", "radiusCredential",
                                        CREDENTIAL_FIELDS),
    "updateRadiusCredential": _mutation("updateRadiusCredential",
                                        "UpdateRadiusCredentialInput", "radiusCredential",
                                        CREDENTIAL_FIELDS),
    "removeRadiusCredential": _mutation("removeRadiusCredential", "IdInput",
                                        "radiusCredential", CREDENTIAL_FIELDS),
    "updateNetworkSettings": _mutation("updateNetworkSettings", "UpdateNetworkSettingsInput",
                                       "networkSettings", SETTINGS_FIELDS),
})
RATE_LIMIT = {"attribute": "Mikrotik-Rate-Limit", "value": "{upload}k/{download}k"}
CREDENTIAL = (f"query($id: ID!) {{ node(id: $id) {{ ... on RadiusCredential "
              f"{{ {CREDENTIAL_FIELDS} }} }} }}")
ACCOUNT_RADIUS = """query($id: ID!) { account(id: $id) { radiusCredentials { id username }
  radiusActions { kind reason status errorCause attributes { attribute value }
    nas { id } } radiusSessions { acctSessionId } } }"""


@dataclass
class Radius:
    billing: Billing
    nas: str
    speed_group: str
    account: str
    account_service: str
    credential: dict[str, Any]

    @property
    def token(self) -> str:
        return self.billing.token

    @property
    def company(self) -> str:
        return self.billing.company


async def radius_setup(api: Any, *, nas_address: str = "127.0.0.1", secret: str = "s3cret-nas",
                       password: str = "pppoe-pass") -> Radius:
    """Needs the vault key (the ``vault_key`` fixture): NAS secrets are sealed."""
    billing = await billing_setup(api)
    nas = await ok(api, billing.token, "createNasClient", {
        "companyId": billing.company, "name": "Core router", "address": nas_address,
        "secret": secret})
    group = await ok(api, billing.token, "createRadiusGroup", {
        "companyId": billing.company, "name": "Speed",
        "attributes": [RATE_LIMIT, {"attribute": "Mikrotik-Address-List", "value": "paying"}]})
    await ok(api, billing.token, "updateNetworkSettings", {
        "companyId": billing.company, "defaultRadiusGroupId": group["id"]})
    account = await customer(api, billing, name="Pat PPPoE")
    service = (await add(api, billing, account, billing.fibre))["id"]
    credential = await ok(api, billing.token, "createRadiusCredential", {
        "accountId": account, "accountServiceId": service, "username": "pat",
        "password": password})
    return Radius(billing, nas["id"], group["id"], account, service, credential)


async def credential(api: Any, radius: Radius) -> dict[str, Any]:
    return (await api.data(CREDENTIAL, {"id": radius.credential["id"]}, radius.token))["node"]
