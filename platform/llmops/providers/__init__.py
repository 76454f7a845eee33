"""Model endpoints: providers, credentials, prices, limits, fallbacks; the LangChain model gateway."""
