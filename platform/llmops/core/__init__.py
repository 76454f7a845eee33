"""Shared foundations: versioned resources, errors, encrypted fields, enqueue-on-commit, health probes."""
