"""The embedded default's broker (kcpsite/broker.py): a consumer polling while producers publish
never sees a partial message, and nothing is lost or duplicated."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection


def _connection(root: Path) -> Connection:
    queue = root / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    (root / "processed").mkdir(exist_ok=True)
    return Connection(
        "filesystem://",
        transport="kcpsite.broker:Transport",
        transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(root / "processed"),
            "control_folder": str(root / "control"),
            "staging_folder": str(root / "staging"),
            "polling_interval": 0,
        },
    )


def test_concurrent_publishers_and_a_polling_consumer_lose_nothing(tmp_path: Path) -> None:
    producers, per_producer = 4, 250
    payload = "x" * 4096  # big enough that a write is not one syscall's worth of luck

    def produce(p: int) -> None:
        with _connection(tmp_path) as conn:
            q = conn.SimpleQueue("kcp")
            for i in range(per_producer):
                q.put({"p": p, "i": i, "pad": payload})
            q.close()

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    seen: list[tuple[int, int]] = []
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue("kcp")
        for t in threads:
            t.start()
        while len(seen) < producers * per_producer:
            msg = q.get(timeout=30)
            body = msg.payload
            assert body["pad"] == payload
            seen.append((body["p"], body["i"]))
            msg.ack()
        q.close()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted((p, i) for p in range(producers) for i in range(per_producer))
    assert not list((tmp_path / "staging").iterdir())
