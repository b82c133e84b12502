"""Records: the executed batch record, certificates of analysis and bag labels as PDF documents, and the lot page."""
