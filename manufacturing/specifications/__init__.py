"""Specifications as data: the model, the loader of specs/, the versions in force and evaluation against limits."""
