"""one lifecycle: signature per meaning per record version, dispositions that stand or end, label voids

Revision ID: 3b7e51c0a9d2
Revises: 8f34c9a5d1dc
Create Date: 2026-12-01 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7e51c0a9d2'
down_revision = '8f34c9a5d1dc'
branch_labels = None
depends_on = None


def _number_step_versions(connection) -> None:
    """Number each step's versions from its 'performed' signatures: every correction signed anew."""
    rows = connection.execute(sa.text(
        "SELECT id, entity_id, meaning FROM signatures WHERE entity_type = 'step' ORDER BY signed_at, id")).all()
    versions: dict[str, int] = {}
    for signature_id, entity_id, meaning in rows:
        if meaning == 'PERFORMED':
            versions[entity_id] = versions.get(entity_id, 0) + 1
        connection.execute(sa.text("UPDATE signatures SET record_version = :version WHERE id = :id"),
                           {"version": versions.get(entity_id, 1), "id": signature_id})
    for entity_id, version in versions.items():
        connection.execute(sa.text("UPDATE process_steps SET revision = :version WHERE id = :id"),
                           {"version": version, "id": int(entity_id)})


def _second_bedside_signatures(connection) -> None:
    """The second person's bedside signature has a meaning of its own."""
    rows = connection.execute(sa.text(
        "SELECT s.id FROM signatures s JOIN bedside_checks b ON s.entity_id = CAST(b.id AS VARCHAR(80)) "
        "WHERE s.entity_type = 'bedside_check' AND s.signer_id = b.second_checker_id")).all()
    for (signature_id,) in rows:
        connection.execute(sa.text("UPDATE signatures SET meaning = 'BEDSIDE_SECOND_CHECKED' WHERE id = :id"),
                           {"id": signature_id})


def upgrade():
    with op.batch_alter_table('process_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_version', sa.Integer(), server_default='1', nullable=False))
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        connection.exec_driver_sql("ALTER TABLE signatures DISABLE TRIGGER USER")
    _number_step_versions(connection)
    _second_bedside_signatures(connection)
    if connection.dialect.name == 'postgresql':
        connection.exec_driver_sql("ALTER TABLE signatures ENABLE TRIGGER USER")
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_signatures_once_per_version',
                                          ['entity_type', 'entity_id', 'record_version', 'meaning'])

    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.Enum('STANDING', 'SUPERSEDED', 'WITHDRAWN',
                                                       name='dispositionstate', native_enum=False, length=12),
                                      server_default='STANDING', nullable=False))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('release_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.Enum('OPEN', 'CLOSED', name='alertstate', native_enum=False,
                                                       length=8), server_default='OPEN', nullable=False))
        batch_op.add_column(sa.Column('dose_state_at_alert', sa.String(length=20), nullable=True))
        # A correction or a deviation after release stops units too: an alert need not come from a QC result.
        batch_op.alter_column('qc_result_id', existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE release_alerts SET state = 'CLOSED' WHERE informed_at IS NOT NULL")

    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_label_prints_disposition_id_dispositions'), 'dispositions',
                                    ['disposition_id'], ['id'])
    op.create_table('label_voids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_print_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=False),
    sa.Column('voided_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['label_print_id'], ['label_prints.id'],
                            name=op.f('fk_label_voids_label_print_id_label_prints')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_label_voids_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_voids')),
    sa.UniqueConstraint('label_print_id', name=op.f('uq_label_voids_label_print_id'))
    )


def downgrade():
    op.drop_table('label_voids')
    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_label_prints_disposition_id_dispositions'), type_='foreignkey')
        batch_op.drop_column('disposition_id')
    with op.batch_alter_table('release_alerts', schema=None) as batch_op:
        batch_op.alter_column('qc_result_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('dose_state_at_alert')
        batch_op.drop_column('state')
    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.drop_column('ended_reason')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('state')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint('uq_signatures_once_per_version', type_='unique')
        batch_op.drop_column('record_version')
    with op.batch_alter_table('process_steps', schema=None) as batch_op:
        batch_op.drop_column('revision')
