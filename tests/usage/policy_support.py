"""Usage policies and free periods set up through the API, as an integrator would."""

from __future__ import annotations

from typing import Any

import tests.network.radius_support  # noqa: F401  (registers the RADIUS mutations)
from tests.accounts.factories import ERRORS, MUTATIONS, _mutation, ok
from tests.billing.factories import SERVICE_FIELDS, Billing

POLICY_FIELDS = """id name description capGb overageBlockGb overageBlockPrice { amount currency }
  overageGlCode { id code } overageTaxable throttleRadiusGroup { id name } notifyPercents
  rolloverMonths active freePeriods { id weekday startTime endTime } company { id }"""
PERIOD_FIELDS = "id weekday startTime endTime policy { id name }"
USAGE_SERVICE_FIELDS = f"{SERVICE_FIELDS} topupGb usagePolicy {{ id name }}"

MUTATIONS.update({
    "createUsagePolicy": _mutation("createUsagePolicy", "CreateUsagePolicyInput",
                                   "usagePolicy", POLICY_FIELDS),
    "updateUsagePolicy": _mutation("updateUsagePolicy", "UpdateUsagePolicyInput",
                                   "usagePolicy", POLICY_FIELDS),
    "deleteUsagePolicy": _mutation("deleteUsagePolicy", "IdInput", "deletedId", ""),
    "createUsageFreePeriod": _mutation("createUsageFreePeriod", "CreateUsageFreePeriodInput",
                                       "usageFreePeriod", PERIOD_FIELDS),
    "updateUsageFreePeriod": _mutation("updateUsageFreePeriod", "UpdateUsageFreePeriodInput",
                                       "usageFreePeriod", PERIOD_FIELDS),
    "deleteUsageFreePeriod": _mutation("deleteUsageFreePeriod", "IdInput", "deletedId", ""),
})


def _service_mutation(alias: str, field: str, input_type: str) -> tuple[str, str]:
    """``createService``/``updateService`` under an alias, selecting the usage fields."""
    return (f"mutation($input: {input_type}!) {{ {alias}: {field}(input: $input) {{ "
            f"service {{ {USAGE_SERVICE_FIELDS} }} {ERRORS} }} }}", "service")


MUTATIONS["createUsageService"] = _service_mutation("createUsageService", "createService",
                                                    "CreateServiceInput")
MUTATIONS["updateUsageService"] = _service_mutation("updateUsageService", "updateService",
                                                    "UpdateServiceInput")


async def throttle_group(api: Any, billing: Billing, name: str = "Over cap") -> str:
    """A RADIUS group that slows a customer down to 1 Mbit/s."""
    return (await ok(api, billing.token, "createRadiusGroup", {
        "companyId": billing.company, "name": name, "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "1M/1M"},
            {"attribute": "Mikrotik-Address-List", "value": "over-cap"}]}))["id"]


async def new_policy(api: Any, billing: Billing, name: str = "500 GB", **fields: Any
                     ) -> dict[str, Any]:
    return await ok(api, billing.token, "createUsagePolicy",
                    {"companyId": billing.company, "name": name, **fields})


async def on_fibre(api: Any, billing: Billing, policy: str | None) -> dict[str, Any]:
    """Give the Fibre data service a usage policy (or take it away)."""
    return await ok(api, billing.token, "updateUsageService",
                    {"id": billing.fibre, "usagePolicyId": policy})
