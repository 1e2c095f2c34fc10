"""Answering partners at the point of service from the evaluated credit state."""
