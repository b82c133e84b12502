"""Release: QA review by exception, signed disposition, certificates of analysis and post-release alerts."""
