"""Fault tests: a dependency of the gateway stops under it, and comes back."""
