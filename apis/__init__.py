"""apis.kcp.io: APIResourceSchemas, APIExports, APIBindings (a later issue)."""
