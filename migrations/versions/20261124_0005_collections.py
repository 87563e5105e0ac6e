"""delinquency rules, exclusions, late fees

Revision ID: 0005_collections
Revises: 0004_payments
Create Date: 2026-11-24 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_collections'
down_revision: str | None = '0004_payments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delinquency_settings',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('days_overdue', sa.Integer(), nullable=False),
    sa.Column('delinquent_status_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('minimum_overdue_minor', sa.BigInteger(), nullable=True),
    sa.Column('late_fee_kind', sa.String(length=10), nullable=False),
    sa.Column('late_fee_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('late_fee_percent_scaled', sa.Integer(), nullable=True),
    sa.Column('late_fee_days', sa.Integer(), nullable=False),
    sa.Column('paper_invoice_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_gl_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_delinquency_settings_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delinquent_status_id'], ['account_statuses.id'], name=op.f('fk_delinquency_settings_delinquent_status_id_account_statuses'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['fee_gl_code_id'], ['gl_codes.id'], name=op.f('fk_delinquency_settings_fee_gl_code_id_gl_codes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delinquency_settings')),
    sa.UniqueConstraint('company_id', name=op.f('uq_delinquency_settings_company_id'))
    )
    with op.batch_alter_table('delinquency_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delinquency_settings_delinquent_status_id'), ['delinquent_status_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delinquency_settings_fee_gl_code_id'), ['fee_gl_code_id'], unique=False)

    op.create_table('delinquency_exclusions',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('account_group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(account_id IS NULL) <> (account_group_id IS NULL)', name=op.f('ck_delinquency_exclusions_account_or_group')),
    sa.ForeignKeyConstraint(['account_group_id'], ['account_groups.id'], name=op.f('fk_delinquency_exclusions_account_group_id_account_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_delinquency_exclusions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_delinquency_exclusions_company_id_companies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delinquency_exclusions'))
    )
    with op.batch_alter_table('delinquency_exclusions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delinquency_exclusions_account_group_id'), ['account_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delinquency_exclusions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delinquency_exclusions_company_id'), ['company_id'], unique=False)

    op.create_table('account_delinquencies',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('previous_status_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delinquent_status_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('overdue_minor', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_delinquencies_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_account_delinquencies_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['delinquent_status_id'], ['account_statuses.id'], name=op.f('fk_account_delinquencies_delinquent_status_id_account_statuses'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_account_delinquencies_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['previous_status_id'], ['account_statuses.id'], name=op.f('fk_account_delinquencies_previous_status_id_account_statuses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_delinquencies')),
    sa.UniqueConstraint('account_id', name=op.f('uq_account_delinquencies_account_id'))
    )
    with op.batch_alter_table('account_delinquencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_delinquencies_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_delinquencies_delinquent_status_id'), ['delinquent_status_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_delinquencies_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_delinquencies_previous_status_id'), ['previous_status_id'], unique=False)

    op.create_table('late_fees',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pending_charge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('charged_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_late_fees_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_late_fees_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_late_fees_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['pending_charge_id'], ['pending_charges.id'], name=op.f('fk_late_fees_pending_charge_id_pending_charges'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_fees')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_late_fees_invoice_id'))
    )
    with op.batch_alter_table('late_fees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_late_fees_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_fees_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_fees_pending_charge_id'), ['pending_charge_id'], unique=False)

    with op.batch_alter_table('account_billing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper_invoices', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_open', ['account_id', 'due_on'], unique=False, postgresql_where=sa.text("status = 'ISSUED' AND paid_minor < total_minor"), sqlite_where=sa.text("status = 'ISSUED' AND paid_minor < total_minor"))


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_open', postgresql_where=sa.text("status = 'ISSUED' AND paid_minor < total_minor"), sqlite_where=sa.text("status = 'ISSUED' AND paid_minor < total_minor"))

    with op.batch_alter_table('account_billing', schema=None) as batch_op:
        batch_op.drop_column('paper_invoices')

    with op.batch_alter_table('late_fees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_late_fees_pending_charge_id'))
        batch_op.drop_index(batch_op.f('ix_late_fees_company_id'))
        batch_op.drop_index(batch_op.f('ix_late_fees_account_id'))

    op.drop_table('late_fees')
    with op.batch_alter_table('account_delinquencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_delinquencies_previous_status_id'))
        batch_op.drop_index(batch_op.f('ix_account_delinquencies_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_account_delinquencies_delinquent_status_id'))
        batch_op.drop_index(batch_op.f('ix_account_delinquencies_company_id'))

    op.drop_table('account_delinquencies')
    with op.batch_alter_table('delinquency_exclusions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delinquency_exclusions_company_id'))
        batch_op.drop_index(batch_op.f('ix_delinquency_exclusions_account_id'))
        batch_op.drop_index(batch_op.f('ix_delinquency_exclusions_account_group_id'))

    op.drop_table('delinquency_exclusions')
    with op.batch_alter_table('delinquency_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delinquency_settings_fee_gl_code_id'))
        batch_op.drop_index(batch_op.f('ix_delinquency_settings_delinquent_status_id'))

    op.drop_table('delinquency_settings')
