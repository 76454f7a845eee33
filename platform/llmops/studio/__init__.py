"""Chains and workflows: versioned graphs, their DSL import/export, and chain runs."""
