"""Tool providers of a workspace (credentialed built-ins, OpenAPI-imported, MCP servers) behind the engine's tool
port, and the metering of every tool call."""
