"""indexes for the home and release queues: lots by state and number, a lot's steps by kind and time, dose units
by state and expiry

Revision ID: 8e2f4a6b1c70
Revises: 7d4e1b2c5a60
Create Date: 2026-12-02 13:45:00.000000

The first rows of the culture-day and release queues are then read in order through an index, so that they cost
the same however many lots a site keeps. A lot's steps by lot alone are read through the new index's first
column, so the single-column index on process_steps.lot_id gives way to it.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8e2f4a6b1c70'
down_revision = '7d4e1b2c5a60'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_lots_state_lot_number", "lots", ["state", "lot_number"]),
    ("ix_process_steps_lot_id_kind_performed_at", "process_steps", ["lot_id", "kind", "performed_at"]),
    ("ix_dose_units_state_expiry_at_id", "dose_units", ["state", "expiry_at", "id"]),
)
SUPERSEDED = ("ix_process_steps_lot_id", "process_steps", ["lot_id"])


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.drop_index(SUPERSEDED[0], table_name=SUPERSEDED[1])


def downgrade():
    op.create_index(*SUPERSEDED, unique=False)
    for name, _table, _columns in reversed(INDEXES):
        op.drop_index(name)
