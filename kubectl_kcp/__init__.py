"""kcp's kubectl plugins in Python (reference/kcp.md §7): client programs, installed as the
console scripts `kubectl-ws`, `kubectl-create_workspace` and `kubectl-kcp` (pyproject.toml).

Client-side only: nothing here imports Django or the server's packages (an import-linter contract
in pyproject.toml holds it), so the scripts start fast and work against any kcp-shaped server.
They speak to the server only over its HTTP API, as kubectl does; nothing is shared with it in
code (workspace paths, for one, are parsed here by the plugin's own rules, which are kcp's
client-side rules, not the server's addressing).

* `kubeconfig`: kubeconfig loading/saving (clientcmd's rules, trimmed), the plugins' context
  rewriting, and a small standard-library HTTPS client for one context.
* `ws`: workspace paths, `kubectl ws [use|current|tree|create] ...`.
* `create_workspace`: `kubectl create-workspace`, creating a Workspace and waiting for it to be Ready.
* `kcp`: `kubectl kcp bind apiexport ...`, `kubectl kcp claims get|accept|reject ...`, and
  `kubectl kcp ws|workspace ...` (delegated to `ws`).
"""
