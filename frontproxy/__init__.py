"""The front proxy of sharded mode: HAProxy configured from the shard records (`config`), its maps
kept in step with the directory of logical clusters by the route syncer (`syncer`, through
HAProxy's runtime API: `runtime`). docs/shards.md describes the topology and the rules."""
