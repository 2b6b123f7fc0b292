"""Fixtures of the front proxy's tests: the project's TLS material in a temporary directory, two
echo backends (`root`, `shard-1`), HAProxy in front of them, and the route syncer in a thread
(with the echoes registered as shard records, which its configuration follows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontproxy.config import ShardBackend
from kcpsite.tls import TLSFiles, ensure_tls

from .harness import Echo, Proxy, Running


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


@pytest.fixture
def running(echoes: dict[str, Echo]) -> Iterator[object]:
    """A factory: `running(proxy)` registers the echo backends' shard records (as the shards do when
    they start; the proxy's configuration already has them) and starts the syncer in a thread."""
    from shards.services import shard_register_self

    started: list[Running] = []

    def start(proxy: Proxy, **kw: object) -> Running:
        for echo in echoes.values():
            shard_register_self(name=echo.name, base_url=echo.base_url)
        started.append(Running(proxy, **kw))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for r in started:
        r.close()
