"""The audit trail as QA reads it: a filtered list and the chain check."""
