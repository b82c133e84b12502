"""The JSON API under /api/v1: the same operations as the pages, for people with a token and for systems."""
