"""audit checkpoints: the list of the signed checkpoint files kept outside the database, append-only

Revision ID: 5b0c9d8e7f20
Revises: 8a5b4c1e5f50
Create Date: 2026-12-01 21:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b0c9d8e7f20'
down_revision = '8a5b4c1e5f50'
branch_labels = None
depends_on = None

TABLE = 'audit_checkpoints'


def upgrade():
    op.create_table(TABLE,
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.Column('chain_length', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=80), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('timestamped', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('file_name', name=op.f('uq_audit_checkpoints_file_name'))
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoints_taken_at'), ['taken_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # refuse_change() was created with the audit trail: the listing is as append-only as the trail.
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoints_taken_at'))
    op.drop_table(TABLE)
