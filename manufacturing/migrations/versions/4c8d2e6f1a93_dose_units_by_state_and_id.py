"""dose units by state and id: the pharmacy's history reads the discarded units newest first through an index

Revision ID: 4c8d2e6f1a93
Revises: 0a678e123c43
Create Date: 2026-12-04 11:30:00.000000

The single-column index on dose_units.state gives way to (state, id), which serves the same lookups.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4c8d2e6f1a93'
down_revision = '0a678e123c43'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_dose_units_state_id", "dose_units", ["state", "id"], unique=False)
    op.drop_index("ix_dose_units_state", table_name="dose_units")


def downgrade():
    op.create_index("ix_dose_units_state", "dose_units", ["state"], unique=False)
    op.drop_index("ix_dose_units_state_id", table_name="dose_units")
