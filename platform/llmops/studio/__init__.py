"""Workflows: versioned graphs, their services, and DSL import/export (own YAML; Dify import in ``dify/``)."""
