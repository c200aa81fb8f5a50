"""Batch jobs, run by operators or a scheduler through the CLI."""
