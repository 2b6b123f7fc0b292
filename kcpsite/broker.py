"""The embedded default's Celery broker: kombu's filesystem transport with atomic publishing.

kombu's filesystem channel creates the message file in the queue folder and then writes to it,
while a consumer moves any file it sees out of the folder and parses it: a consumer that polls
at the wrong moment takes an empty file (the worker dies on the JSON error) and the message is
lost. Here a message is written whole into a staging folder on the same filesystem and renamed
into the queue folder, so a consumer only ever sees complete messages."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staging = Path(self.transport_options.get("staging_folder") or Path(self.data_folder_out).parent / "staging")
        try:
            staging.mkdir(parents=True, exist_ok=True)
            tmp = staging / name
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, Path(self.data_folder_out) / name)
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel
