"""Home page with each role's work, and the health check."""
