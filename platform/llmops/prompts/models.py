"""Models of the prompts app."""
