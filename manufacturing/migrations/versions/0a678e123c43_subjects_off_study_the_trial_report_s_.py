"""subjects off study; the trial report's stored revisions

Revision ID: 0a678e123c43
Revises: 6d2f0b8c4e31
Create Date: 2026-12-03 12:24:09.189896

"""
from alembic import op
import sqlalchemy as sa

APPEND_ONLY_TABLES = ("trial_reports",)  # as manufacturing/core/append_only.py lists them
SQLITE_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {operation} ON {table} "
                  "BEGIN SELECT RAISE(ABORT, '{operation} on {table} refused: the table is append-only'); END")


def _refuse_changes():
    """A stored trial report is never rewritten (refuse_change: first migration)."""
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
revision = '0a678e123c43'
down_revision = '6d2f0b8c4e31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('study_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('TOXICITY', 'MANUFACTURING_FAILURE', 'WITHDRAWAL', 'OTHER', name='stopreason', native_enum=False, length=24), nullable=False),
    sa.Column('stopped_on', sa.Date(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_study_stops_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_study_stops_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_stops')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_study_stops_subject_id'))
    )
    op.create_table('trial_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_trial_reports_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_reports')),
    sa.UniqueConstraint('revision', name=op.f('uq_trial_reports_revision'))
    )
    _refuse_changes()


def downgrade():
    op.drop_table('trial_reports')
    op.drop_table('study_stops')
