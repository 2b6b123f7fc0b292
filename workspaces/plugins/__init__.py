"""kcp's kubectl plugins in Python: `kubectl ws` and `kubectl create-workspace` (reference/kcp.md §7).

Client-side only: nothing here imports Django or the server's modules, so the console scripts
(`kubectl-ws`, `kubectl-create_workspace`) start fast and work against any kcp-shaped server.

* `kubeconfig`: kubeconfig loading/saving (clientcmd's rules, trimmed), the plugin's context
  rewriting, and a small standard-library HTTPS client for one context.
* `ws`: workspace paths, `kubectl ws [use|current|tree|create] ...`.
* `create_workspace`: creating a Workspace and waiting for it to be Ready.
"""
