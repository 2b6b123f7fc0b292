"""The one storage interface for Kubernetes objects: rows in PostgreSQL, a revision counter whose
order equals commit order, and an event log written in the same transaction as each change."""
