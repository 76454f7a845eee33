"""Test helpers that are real servers, not mocks (see openai_test_server)."""
