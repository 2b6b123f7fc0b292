"""Shard registry and placement (a later issue)."""
