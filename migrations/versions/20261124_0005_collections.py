"""delinquency rules, exclusions, late fees

Revision ID: 0005_collections
Revises: 0004_payments
Create Date: 2026-11-24 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0005_collections'
down_revision: str | None = '0004_payments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
