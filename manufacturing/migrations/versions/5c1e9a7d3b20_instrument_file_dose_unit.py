"""instrument files name the QC sample they belong to: a dose unit (flow exports and attached FCS files)

Revision ID: 5c1e9a7d3b20
Revises: 0bee1f957cf4
Create Date: 2026-12-03 09:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e9a7d3b20'
down_revision = '0bee1f957cf4'
branch_labels = None
depends_on = None


def upgrade():
    # The column is added in place: on SQLite no table is rebuilt, so the append-only triggers stay.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE instrument_files ADD COLUMN dose_unit_id INTEGER "
                   "CONSTRAINT fk_instrument_files_dose_unit_id_dose_units REFERENCES dose_units (id)")
    else:
        op.add_column('instrument_files', sa.Column('dose_unit_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_instrument_files_dose_unit_id_dose_units'), 'instrument_files',
                              'dose_units', ['dose_unit_id'], ['id'])
    op.create_index(op.f('ix_instrument_files_dose_unit_id'), 'instrument_files', ['dose_unit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_instrument_files_dose_unit_id'), table_name='instrument_files')
    if op.get_bind().dialect.name == 'sqlite':  # SQLite drops no column under a constraint: the table is rebuilt
        with op.batch_alter_table('instrument_files') as batch_op:
            batch_op.drop_column('dose_unit_id')
    else:
        op.drop_constraint(op.f('fk_instrument_files_dose_unit_id_dose_units'), 'instrument_files',
                           type_='foreignkey')
        op.drop_column('instrument_files', 'dose_unit_id')
