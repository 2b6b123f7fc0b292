"""tenancy.kcp.io and core.kcp.io: workspaces and logical clusters."""
