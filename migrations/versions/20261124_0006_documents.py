"""invoice templates and document batches

Revision ID: 0006_documents
Revises: 0005_collections
Create Date: 2026-11-24 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_documents'
down_revision: str | None = '0005_collections'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invoice_templates',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_media_type', sa.String(length=40), nullable=True),
    sa.Column('remittance_slip', sa.Boolean(), nullable=False),
    sa.Column('footer', sa.String(length=2000), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_invoice_templates_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_templates')),
    sa.UniqueConstraint('company_id', name=op.f('uq_invoice_templates_company_id'))
    )
    op.create_table('document_batches',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('only_paper_accounts', sa.Boolean(), nullable=False),
    sa.Column('invoice_count', sa.Integer(), nullable=False),
    sa.Column('requested_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_document_batches_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_document_batches_requested_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_batches'))
    )
    with op.batch_alter_table('document_batches', schema=None) as batch_op:
        batch_op.create_index('ix_document_batches_company_created', ['company_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_batches_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_batches_requested_by_user_id'), ['requested_by_user_id'], unique=False)

    op.create_table('document_batch_files',
    sa.Column('document_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['document_batch_id'], ['document_batches.id'], name=op.f('fk_document_batch_files_document_batch_id_document_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_batch_files')),
    sa.UniqueConstraint('document_batch_id', name=op.f('uq_document_batch_files_document_batch_id'))
    )
    op.create_table('document_batch_items',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=1000), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['document_batch_id'], ['document_batches.id'], name=op.f('fk_document_batch_items_document_batch_id_document_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_document_batch_items_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_batch_items'))
    )
    with op.batch_alter_table('document_batch_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_batch_items_document_batch_id'), ['document_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_batch_items_invoice_id'), ['invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('document_batch_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_batch_items_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_document_batch_items_document_batch_id'))

    op.drop_table('document_batch_items')
    op.drop_table('document_batch_files')
    with op.batch_alter_table('document_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_batches_requested_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_document_batches_company_id'))
        batch_op.drop_index('ix_document_batches_company_created')

    op.drop_table('document_batches')
    op.drop_table('invoice_templates')
