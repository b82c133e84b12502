"""Trial reports and the data export for the sponsor."""
