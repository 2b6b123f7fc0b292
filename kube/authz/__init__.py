"""Authentication (bearer tokens) and authorization. RBAC enforcement is a later issue."""
