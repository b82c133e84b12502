"""Lots: lifecycle state machine and the ISBT 128 chain of identity."""
