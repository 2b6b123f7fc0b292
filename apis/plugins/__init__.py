"""`kubectl kcp` (console script `kubectl-kcp`): kcp's API binding plugin (reference/kcp.md §7, §4.4).

Client-side only, like workspaces.plugins (whose kubeconfig loading and HTTPS client it reuses):
nothing here imports Django or the server's modules.

* `kcp`: `kubectl kcp bind apiexport ...`, `kubectl kcp claims get|accept|reject ...`, and
  `kubectl kcp ws|workspace ...` (delegated to `kubectl ws`).
"""
