"""setup codes instead of temporary passwords: a one-time code, stored as a hash, with an expiry

Revision ID: 8a5b4c1e5f50
Revises: 9c6d5e2f6a60
Create Date: 2026-12-01 21:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '8a5b4c1e5f50'
down_revision = '9c6d5e2f6a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setup_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('setup_code_expires_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('setup_code_expires_at')
        batch_op.drop_column('setup_code_hash')
