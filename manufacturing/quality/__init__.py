"""Quality: deviations, QC results and out-of-specification follow-up."""
