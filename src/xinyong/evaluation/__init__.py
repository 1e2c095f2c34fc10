"""Evaluation: batch, incremental (the after-merge hook), as-of replay, impact and equality."""
