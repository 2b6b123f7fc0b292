"""The embedded default's broker (kcpsite/broker.py): a consumer polling while producers publish
never sees a partial message; competing consumers take each message once; what a killed consumer
took but did not acknowledge goes back to the queue; nothing is lost or duplicated."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from kombu import Connection


def _queue(root: Path) -> str:
    """A queue name of this test's own: kombu keeps exchange bindings in class-level state, so two
    tests' brokers in one process must not share a queue name."""
    return f"kcp-{root.name}"


def _connection(root: Path) -> Connection:
    queue = root / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport="kcpsite.broker:Transport",
        transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "claims_folder": str(root / "claimed"),
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
            q = conn.SimpleQueue(_queue(tmp_path))
            for i in range(per_producer):
                q.put({"p": p, "i": i, "pad": payload})
            q.close()

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    seen: list[tuple[int, int]] = []
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue(_queue(tmp_path))
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


def _drain(root: Path, *, ack: bool = True, timeout: float = 10) -> list[Any]:
    """Every message a fresh consumer can get (waiting up to `timeout` for the first of a lull)."""
    got: list[Any] = []
    with _connection(root) as conn:
        q = conn.SimpleQueue(_queue(root))
        try:
            while True:
                msg = q.get(timeout=timeout if not got else 0.5)
                got.append(msg.payload)
                if ack:
                    msg.ack()
        except q.Empty:
            pass
        q.close()
    return got


def _publish(root: Path, bodies: list[Any]) -> None:
    with _connection(root) as conn:
        q = conn.SimpleQueue(_queue(root))
        for body in bodies:
            q.put(body)
        q.close()


def test_competing_consumers_each_message_taken_once(tmp_path: Path) -> None:
    _publish(tmp_path, [{"i": i} for i in range(400)])
    seen: list[int] = []
    lock = threading.Lock()

    def consume() -> None:
        got = _drain(tmp_path, timeout=2)
        with lock:
            seen.extend(m["i"] for m in got)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(400))
    assert not [p for p in (tmp_path / "claimed").rglob("*.msg")]


_HOLDER = """
import json, sys, time
from pathlib import Path
sys.path[:0] = [{project!r}, {tests!r}]
from test_broker import _connection, _queue
conn = _connection(Path({root!r}))
q = conn.SimpleQueue(_queue(Path({root!r})))
held = [q.get(timeout=10) for _ in range(3)]
held[0].ack()
print(json.dumps([m.payload["i"] for m in held]), flush=True)
time.sleep(120)
"""


def test_messages_of_a_killed_consumer_go_back_to_the_queue(tmp_path: Path) -> None:
    """A consumer SIGKILLed with messages taken but not acknowledged (a worker killed mid-task):
    another consumer gets them; the one it acknowledged is not delivered again."""
    import json
    import os
    import signal
    import subprocess
    import sys

    _publish(tmp_path, [{"i": i} for i in range(5)])
    project = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(project=project, tests=str(Path(__file__).parent), root=str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        acked, *unacked = json.loads(holder.stdout.readline())
        # While the holder lives, its two unacknowledged messages stay its own.
        assert sorted(m["i"] for m in _drain(tmp_path, timeout=1)) == sorted({0, 1, 2, 3, 4} - {acked, *unacked})
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert sorted(m["i"] for m in _drain(tmp_path, timeout=10)) == sorted(unacked)
    finally:
        holder.kill()
        holder.wait()
    assert _drain(tmp_path, timeout=3) == []
    assert [p.name for p in (tmp_path / "claimed").iterdir() if not p.name.startswith(".")] == []


def test_requeue_and_graceful_close_return_unacknowledged_messages(tmp_path: Path) -> None:
    _publish(tmp_path, [{"i": 1}, {"i": 2}])
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue(_queue(tmp_path))
        first = q.get(timeout=5)
        first.requeue()
        q.get(timeout=5)  # taken, neither acknowledged nor rejected: back on close
        q.close()
    assert sorted(m["i"] for m in _drain(tmp_path)) == [1, 2]
    assert not [p for p in (tmp_path / "claimed").rglob("*.msg")]


def test_rejected_message_is_dropped(tmp_path: Path) -> None:
    _publish(tmp_path, [{"i": 1}])
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue(_queue(tmp_path))
        q.get(timeout=5).reject()
        q.close()
    assert _drain(tmp_path, timeout=1) == []
    assert not [p for p in (tmp_path / "claimed").rglob("*.msg")]
