"""Dispensing: pharmacy issue, the two-person bedside check, and the administration record."""
