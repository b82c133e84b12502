"""Materials and equipment: reagent lots with expiry and QA status, equipment with calibration."""
