"""Demonstration data for ``ispcore seed --demo``: re-running it changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from ispcore.domain.accounts import contacts, service, settings
from ispcore.domain.addresses import service as addresses
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.companies.service import create_company
from ispcore.domain.identity.models import User
from ispcore.domain.identity.users import create_user, ensure_admin_role

DEMO_EMAIL = "admin@demo.ispcore.example"
DEMO_PASSWORD = "demo-password-change-me"
DEMO_COMPANIES = [
    {"name": "Prairie Fiber", "currency": "USD", "time_zone": "America/Chicago",
     "contact_email": "billing@prairiefiber.example", "city": "Wichita", "subdivision": "KS",
     "country": "US"},
    {"name": "Northern Wireless", "currency": "CAD", "time_zone": "America/Toronto",
     "contact_email": "support@northernwireless.example", "city": "Sudbury",
     "subdivision": "ON", "country": "CA"},
]


async def seed_demo(uow: UnitOfWork) -> list[str]:
    lines = []
    admin = await ensure_admin_role(uow)
    if await uow.session.scalar(select(User).where(User.email == DEMO_EMAIL)) is None:
        await create_user(uow, email=DEMO_EMAIL, name="Demo Admin", password=DEMO_PASSWORD,
                          role_id=admin.id)
        lines.append(f"user {DEMO_EMAIL} / password {DEMO_PASSWORD} (admin)")
    for values in DEMO_COMPANIES:
        if await uow.session.scalar(select(Company).where(Company.name == values["name"])) is None:
            company = await create_company(uow, dict(values))
            await _customer_records(uow, company)
            lines.append(f"company {values['name']} with settings, addresses and 3 accounts")
    return lines or ["demo data already present"]


async def _customer_records(uow: UnitOfWork, company: Company) -> None:
    """Account types and statuses as a new ISP would set them up, a few pre-qualified
    addresses, two customers and a lead."""

    async def setting(kind: settings.Setting, **values: object) -> int:
        return (await settings.create_setting(uow, kind, {"company_id": company.id,
                                                          **values})).id

    residential = await setting(settings.ACCOUNT_TYPE, name="Residential")
    await setting(settings.ACCOUNT_TYPE, name="Business")
    active = await setting(settings.ACCOUNT_STATUS, name="Active", counts_as_active=True,
                           color="#1f8b4c")
    lead = await setting(settings.ACCOUNT_STATUS, name="Lead", counts_as_active=False,
                         is_lead=True, color="#3b82f6")
    await setting(settings.ACCOUNT_STATUS, name="Delinquent", counts_as_active=True,
                  is_delinquent=True, color="#f59e0b")
    await setting(settings.ACCOUNT_STATUS, name="Inactive", counts_as_active=False,
                  is_disconnect_default=True, color="#6b7280")
    mobile = await setting(settings.PHONE_NUMBER_TYPE, name="Mobile", can_receive_sms=True)
    await setting(settings.PHONE_NUMBER_TYPE, name="Home")
    prefix = "+1 316 555 01" if company.country == "US" else "+1 705 555 01"
    people = [("Ana Silva", active, "ana.silva@example.com"),
              ("Ben Okafor", active, "ben.okafor@example.com"),
              ("Chloé Martin", lead, "chloe.martin@example.com")]
    for unit, (name, status, email) in enumerate(people, start=1):
        address = await addresses.create_address(uow, {
            "company_id": company.id, "line1": "200 Prairie Ave", "unit": str(unit),
            "city": company.city, "subdivision": company.subdivision,
            "country": company.country})
        account = await service.create_account(uow, {
            "company_id": company.id, "name": name, "account_type_id": residential,
            "account_status_id": status, "account_number": f"D-{unit:04d}",
            "lead_source": "Website" if status == lead else None})
        await contacts.create_contact(uow, {
            "account_id": account.id, "name": name, "is_financial": True, "emails": [email],
            "phone_numbers": [contacts.PhoneInput(f"{prefix}{unit:02d}", mobile)]})
        await addresses.move_in(uow, account.id, address.id, None)
