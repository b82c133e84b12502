"""Patients: study subjects, dated body weights, the study's dose schedule and infusion orders."""
