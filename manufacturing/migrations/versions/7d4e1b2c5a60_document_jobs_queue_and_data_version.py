"""documents off the request path: a queue of document jobs; each stored document keeps its data's version

Revision ID: 7d4e1b2c5a60
Revises: 7a1c4e2b9d40
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d4e1b2c5a60'
down_revision = '7a1c4e2b9d40'
branch_labels = None
depends_on = None

VERSION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime()


def upgrade():
    op.create_table(
        'document_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('RELEASE', 'WITHDRAWAL', name='jobkind', native_enum=False, length=20),
                  nullable=False),
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.Column('dose_unit_id', sa.Integer(), nullable=False),
        sa.Column('disposition_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('data_version', VERSION, nullable=False),
        sa.Column('queued_at', MOMENT, nullable=False),
        sa.Column('due_at', MOMENT, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('done_at', MOMENT, nullable=True),
        sa.Column('failed_at', MOMENT, nullable=True),
        sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_document_jobs_lot_id_lots')),
        sa.ForeignKeyConstraint(['dose_unit_id'], ['dose_units.id'],
                                name=op.f('fk_document_jobs_dose_unit_id_dose_units')),
        sa.ForeignKeyConstraint(['disposition_id'], ['dispositions.id'],
                                name=op.f('fk_document_jobs_disposition_id_dispositions')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_document_jobs_requested_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_jobs')),
    )
    op.create_index(op.f('ix_document_jobs_lot_id'), 'document_jobs', ['lot_id'])
    op.create_index(op.f('ix_document_jobs_disposition_id'), 'document_jobs', ['disposition_id'])
    op.create_index('ix_document_jobs_pending', 'document_jobs', ['id'], sqlite_where=sa.text('done_at IS NULL'),
                    postgresql_where=sa.text('done_at IS NULL'))
    # stored_documents is append-only: a plain ADD COLUMN (never a batch copy, which would lose its triggers).
    op.add_column('stored_documents', sa.Column('data_version', VERSION, nullable=True))


def downgrade():
    op.drop_column('stored_documents', 'data_version')
    op.drop_index('ix_document_jobs_pending', table_name='document_jobs')
    op.drop_index(op.f('ix_document_jobs_disposition_id'), table_name='document_jobs')
    op.drop_index(op.f('ix_document_jobs_lot_id'), table_name='document_jobs')
    op.drop_table('document_jobs')
