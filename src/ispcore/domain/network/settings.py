"""A company's network settings: when addresses of disconnected accounts are released, and
what RADIUS does for delinquent and suspended accounts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import company_of, company_row, load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network.models import NetworkSettings, RadiusGroup


class AccessAction(StrEnum):
    #: Treated like any paying account.
    NONE = "NONE"
    #: Access-Reject; live sessions are disconnected.
    REJECT = "REJECT"
    #: Accepted into the action's group (a slower rate limit).
    THROTTLE = "THROTTLE"
    #: Accepted into the action's group (an address list or pool the router redirects).
    REDIRECT = "REDIRECT"


DEFAULTS: dict[str, Any] = {
    "release_on_disconnect": True, "release_hold_days": 30,
    "delinquent_action": AccessAction.REJECT.value, "delinquent_radius_group_id": None,
    "suspended_action": AccessAction.REJECT.value, "suspended_radius_group_id": None,
    "default_radius_group_id": None,
    "delinquent_address_list": "ispcore-delinquent",
    "suspended_address_list": "ispcore-suspended",
}
GROUPS = ("delinquent_radius_group_id", "suspended_radius_group_id", "default_radius_group_id")
#: Changing these changes what RADIUS answers: every credential of the company is compiled.
RADIUS_FIELDS = frozenset({"delinquent_action", "suspended_action", *GROUPS})


async def network_settings(uow: UnitOfWork, company_id: int, *, create: bool = True
                           ) -> NetworkSettings:
    return await company_row(uow, NetworkSettings, company_id, DEFAULTS, create=create)


def _address_list_name(value: Any, field: str) -> str:
    name = (value or "").strip()
    if not name or len(name) > 63 or any(c in name for c in '"\\$[]{};'):
        raise DomainError("An address list name is 1 to 63 characters, without quotes, "
                          "brackets, braces, semicolons, $ or backslashes.", field=field)
    return name


async def update_network_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                                  ) -> NetworkSettings:
    await company_of(uow, company_id)
    row = await network_settings(uow, company_id)
    if "release_hold_days" in values and not 0 <= values["release_hold_days"] <= 3650:
        raise DomainError("Between 0 and 3650 days.", field="release_hold_days")
    for field in ("delinquent_address_list", "suspended_address_list"):
        if field in values:
            values[field] = _address_list_name(values[field], field)
    for field in GROUPS:
        if values.get(field) is not None:
            await load(uow, RadiusGroup, values[field], field=field, what="RADIUS group",
                       company_id=company_id)
    for key, value in values.items():
        setattr(row, key, value.value if isinstance(value, StrEnum) else value)
    for state in ("delinquent", "suspended"):
        if (getattr(row, f"{state}_action") in (AccessAction.THROTTLE, AccessAction.REDIRECT)
                and getattr(row, f"{state}_radius_group_id") is None):
            raise DomainError(f"{getattr(row, f'{state}_action').title()} needs a RADIUS "
                              "group to put the accounts in.",
                              field=f"{state}_radius_group_id")
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    if RADIUS_FIELDS & values.keys():
        from ispcore.domain.network import compile

        await compile.compile_company(uow, company_id)
    record_event(uow, "network_settings.updated", company_id=company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row
