"""Users, workspaces (tenants) and memberships with roles."""
