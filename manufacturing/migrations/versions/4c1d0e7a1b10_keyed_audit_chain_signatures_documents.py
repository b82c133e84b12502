"""keyed seals: audit rows, chain head, signatures and stored documents name the key that sealed them

Rows written before carry the key id 'unkeyed' and keep their plain SHA-256; the chain head is sealed
with the current key when the application runs the upgrade, so that the unkeyed rows stay vouched for.

Revision ID: 4c1d0e7a1b10
Revises: 5b0c9d8e7f20
Create Date: 2026-12-01 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c1d0e7a1b10'
down_revision = '5b0c9d8e7f20'
branch_labels = None
depends_on = None

SEALED = {
    'audit_events': ('key_id', 'mac'),
    'audit_chain_head': ('key_id', 'mac'),
    'signatures': ('key_id',),
    'stored_documents': ('key_id', 'mac'),
}
WIDTHS = {'key_id': 16, 'mac': 64}
BEFORE_KEYING = {'key_id': 'unkeyed', 'mac': ''}


def _seal_head(connection) -> None:
    """Seal the chain head as it stands with the application's current key, when there is one."""
    from flask import has_app_context

    if not has_app_context():
        return  # no application, no key: the next row appended seals the head
    from manufacturing.core.audit import sealed_head

    head = connection.execute(sa.text("SELECT length, last_hash FROM audit_chain_head WHERE id = 1")).one()
    values = sealed_head(head.length, head.last_hash)
    connection.execute(sa.text("UPDATE audit_chain_head SET key_id = :key_id, mac = :mac WHERE id = 1"),
                       {"key_id": values["key_id"], "mac": values["mac"]})


def upgrade():
    for table, columns in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sa.String(length=WIDTHS[column]), nullable=False,
                                              server_default=BEFORE_KEYING[column]))
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)
    _seal_head(op.get_bind())


def downgrade():
    for table, columns in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column)
