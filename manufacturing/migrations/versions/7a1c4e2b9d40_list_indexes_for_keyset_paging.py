"""indexes for every list and filter: keyset paging newest first, the audit trail by person, record and scope

Revision ID: 7a1c4e2b9d40
Revises: 6e3f2a9c3d30
Create Date: 2026-12-02 02:45:00.000000

Plain CREATE INDEX and DROP INDEX only: on SQLite a batch migration would copy the append-only audit table
and lose its triggers. The audit trail's single-column indexes on occurred_at, entity_type and scope give way
to the composite ones that begin with the same column.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a1c4e2b9d40'
down_revision = '6e3f2a9c3d30'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_events_occurred_at_id", "audit_events", ["occurred_at", "id"]),
    ("ix_audit_events_username_id", "audit_events", ["username", "id"]),
    ("ix_audit_events_entity_id", "audit_events", ["entity_type", "entity_id", "id"]),
    ("ix_audit_events_scope_id", "audit_events", ["scope", "id"]),
    ("ix_lots_opened_at_id", "lots", ["opened_at", "id"]),
    ("ix_deviations_opened_at_id", "deviations", ["opened_at", "id"]),
    ("ix_deviations_status_opened_at_id", "deviations", ["status", "opened_at", "id"]),
    ("ix_qc_results_status_recorded_at", "qc_results", ["status", "recorded_at"]),
    ("ix_release_alerts_raised_at_id", "release_alerts", ["raised_at", "id"]),
    ("ix_material_lots_kind_expiry_date_id", "material_lots", ["kind", "expiry_date", "id"]),
    ("ix_process_steps_status_performed_at", "process_steps", ["status", "performed_at"]),
)
SUPERSEDED = (
    ("ix_audit_events_occurred_at", "audit_events", ["occurred_at"]),
    ("ix_audit_events_entity_type", "audit_events", ["entity_type"]),
    ("ix_audit_events_scope", "audit_events", ["scope"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in SUPERSEDED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, columns in SUPERSEDED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
