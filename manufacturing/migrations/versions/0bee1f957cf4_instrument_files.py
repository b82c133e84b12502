"""instrument exports kept as the raw record of imported values (append-only); equipment serial numbers

Revision ID: 0bee1f957cf4
Revises: b7d2f0c4e8a1
Create Date: 2026-12-03 05:39:22.810416

"""
from alembic import op
import sqlalchemy as sa

APPEND_ONLY_TABLES = ("instrument_files", "instrument_values")  # as manufacturing/core/append_only.py lists them
SQLITE_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {operation} ON {table} "
                  "BEGIN SELECT RAISE(ABORT, '{operation} on {table} refused: the table is append-only'); END")


def _refuse_changes():
    """An imported file and the values taken from it are never rewritten (refuse_change: first migration)."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in APPEND_ONLY_TABLES:
        if postgresql:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")
        else:
            for operation in ("UPDATE", "DELETE"):
                op.execute(SQLITE_TRIGGER.format(table=table, verb=operation.lower(), operation=operation))


# revision identifiers, used by Alembic.
revision = '0bee1f957cf4'
down_revision = 'b7d2f0c4e8a1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('instrument_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('reader', sa.String(length=60), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sample_row', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('sample_id', sa.String(length=120), nullable=False),
    sa.Column('instrument', sa.String(length=120), nullable=False),
    sa.Column('serial_number', sa.String(length=60), nullable=True),
    sa.Column('equipment_id', sa.Integer(), nullable=True),
    sa.Column('analysed_at', sa.DateTime(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_instrument_files_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_instrument_files_imported_by_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_instrument_files_lot_id_lots')),
    sa.ForeignKeyConstraint(['step_id'], ['process_steps.id'], name=op.f('fk_instrument_files_step_id_process_steps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_files')),
    sa.UniqueConstraint('sha256', 'sample_row', name=op.f('uq_instrument_files_sha256'))
    )
    with op.batch_alter_table('instrument_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_files_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_files_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_files_step_id'), ['step_id'], unique=False)

    op.create_table('instrument_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=40), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('field_key', sa.String(length=40), nullable=True),
    sa.Column('qc_result_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['instrument_files.id'], name=op.f('fk_instrument_values_file_id_instrument_files')),
    sa.ForeignKeyConstraint(['qc_result_id'], ['qc_results.id'], name=op.f('fk_instrument_values_qc_result_id_qc_results')),
    sa.ForeignKeyConstraint(['step_id'], ['process_steps.id'], name=op.f('fk_instrument_values_step_id_process_steps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_values'))
    )
    with op.batch_alter_table('instrument_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_values_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_values_qc_result_id'), ['qc_result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_values_step_id'), ['step_id'], unique=False)

    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial_number', sa.String(length=60), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_equipment_serial_number'), ['serial_number'])

    _refuse_changes()


def downgrade():
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_equipment_serial_number'), type_='unique')
        batch_op.drop_column('serial_number')

    with op.batch_alter_table('instrument_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_values_step_id'))
        batch_op.drop_index(batch_op.f('ix_instrument_values_qc_result_id'))
        batch_op.drop_index(batch_op.f('ix_instrument_values_file_id'))

    op.drop_table('instrument_values')
    with op.batch_alter_table('instrument_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_files_step_id'))
        batch_op.drop_index(batch_op.f('ix_instrument_files_sha256'))
        batch_op.drop_index(batch_op.f('ix_instrument_files_lot_id'))

    op.drop_table('instrument_files')
