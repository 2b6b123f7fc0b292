"""The cache of what crosses shards: PostgreSQL logical replication, with row filters, from every
shard's database into the global one (spec: what travels and the names; replication: setting it
up; selectors: reading it, its health, comparing it with the shard)."""
