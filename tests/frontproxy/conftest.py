"""Fixtures of the front proxy's tests: the project's TLS material in a temporary directory, two
echo backends (`root`, `shard-1`) and HAProxy in front of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontproxy.config import ShardBackend
from kcpsite.tls import TLSFiles, ensure_tls

from .harness import Echo, Proxy


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return ensure_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def echoes(tls: TLSFiles) -> Iterator[dict[str, Echo]]:
    backends = {name: Echo(name, tls).start() for name in ("root", "shard-1")}
    yield backends
    for echo in backends.values():
        echo.kill()


@pytest.fixture
def proxy_dir(tmp_path: Path) -> Path:
    return tmp_path / "proxy"


@pytest.fixture
def make_proxy(proxy_dir: Path, tls: TLSFiles, echoes: dict[str, Echo]) -> Iterator[object]:
    """A factory: `make_proxy(routes={key: value})` starts HAProxy with those routes in its map file."""
    started: list[Proxy] = []

    def make(routes: dict[str, str] | None = None) -> Proxy:
        proxy = Proxy(proxy_dir, tls, [ShardBackend(e.name, e.base_url) for e in echoes.values()])
        proxy.write_config()
        if routes is not None:
            from .harness import set_routes

            set_routes(proxy, routes)
        started.append(proxy.start(healthy=tuple(echoes)))
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
