"""login throttles: failed logins counted per account name and per client address

Revision ID: 9c6d5e2f6a60
Revises: 3b7e51c0a9d2
Create Date: 2026-12-01 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c6d5e2f6a60'
down_revision = '3b7e51c0a9d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(), nullable=True),
        sa.Column('blocked_until', sa.DateTime(), nullable=True),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
        sa.UniqueConstraint('kind', 'key', name=op.f('uq_login_throttles_kind')),
    )


def downgrade():
    op.drop_table('login_throttles')
