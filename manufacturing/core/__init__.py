"""Mechanisms every feature uses: audit trail, e-signatures, access checks, domain errors, time."""
