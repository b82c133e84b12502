"""The append-only tables: rows are added and read, never changed or removed (21 CFR 11.10(e)).

This is the one list. The runtime role's grants are derived from it (SELECT and INSERT only), and the
migrations' triggers refuse UPDATE, DELETE and (on PostgreSQL) TRUNCATE on every table named here.
"""

APPEND_ONLY_TABLES = (
    "audit_events",
    "audit_checkpoints",
    "signatures",
    "stored_documents",
    "label_prints",
    "label_voids",
    "instrument_files",
    "instrument_values",
    "trial_reports",
)


def is_append_only(table_name: str) -> bool:
    return table_name in APPEND_ONLY_TABLES
