"""Channels of the global database that a shard's directory follower listens on besides the
directory's own: an app registers a channel and the handler of its payloads at start-up
(`global_channel_register`); the follower (workspaces.follower) LISTENs on each and calls the
handler with every payload. Handlers are doorbells like the directory's: they enqueue work, keep
no state, and whatever a missed notification meant is found by the app's own resync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A handler gets the notification's payload.
ChannelHandler = Callable[[str], Any]

_handlers: dict[str, ChannelHandler] = {}


def global_channel_register(*, channel: str, handler: ChannelHandler) -> None:
    """Listen on `channel` in every shard's follower; one handler per channel."""
    if not channel.isidentifier():
        raise ValueError(f"{channel!r} is not a plain channel name")
    _handlers[channel] = handler


def global_channels() -> dict[str, ChannelHandler]:
    """The registered channels and their handlers."""
    return dict(_handlers)
