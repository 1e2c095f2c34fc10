"""The evaluated credit state: runs, explanations, and the outbox of measure changes."""
