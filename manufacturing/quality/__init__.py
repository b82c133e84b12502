"""Quality: QC results judged against the specification, deviations, OOS follow-up and the executed lot record."""
