"""Release: specifications as data, their evaluation, QA disposition and certificates of analysis."""
