"""Demonstration data for ``ispcore seed --demo``: re-running it changes nothing."""

from __future__ import annotations

from sqlalchemy import select

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
            await create_company(uow, dict(values))
            lines.append(f"company {values['name']}")
    return lines or ["demo data already present"]
