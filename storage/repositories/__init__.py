"""Repositories: queries and writes on a caller's session. They never commit."""
