"""the audit trail by account: acts in a person's name and through their API tokens read through one index

Revision ID: 6d2f0b8c4e31
Revises: 5c1e9a7d3b20
Create Date: 2026-12-03 09:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6d2f0b8c4e31'
down_revision = '5c1e9a7d3b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_user_id_id', 'audit_events', ['user_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_events_user_id_id', table_name='audit_events')
