"""Generic Kubernetes API machinery. Knows nothing of kcp: the kcp apps register their kinds
and hooks into `kube.registry` from their AppConfig.ready()."""
