"""Duplicate contacts: find cards that describe the same person, merge them, undo a merge."""
