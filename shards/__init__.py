"""Shards: the core.kcp.io Shard registry (registration, heartbeat, cordon, limits) and placement."""
