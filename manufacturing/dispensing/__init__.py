"""Dispensing: pharmacy issue, the two-person bedside check, the administration record and the subject page."""
