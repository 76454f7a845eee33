"""Prompts: chat or text templates, immutable versions, labels, rendering and the playground."""
