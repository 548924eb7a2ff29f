"""One WebSocket's outgoing messages, in order, bounded in bytes.

Responses: the connection stops reading requests while `max_response_bytes` of its responses are unsent (the
client that does not read stops being read). Notifications: a client whose unsent notifications pass
`max_notification_bytes` is too slow for what it subscribed to; the outbox overflows, the connection is closed
with a close reason that says so, and nothing else waits on it. A notification may be sent to many subscribers
as parts around one shared body (a block's events rendered once), so queuing it copies no bodies.
"""

from __future__ import annotations

import asyncio
from collections import deque

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_NOTIFICATION_BYTES = 16 * 1024 * 1024
Message = str | tuple[str, ...]
"""A text, or parts of one text sent joined."""


def message_size(message: Message) -> int:
    return len(message) if isinstance(message, str) else sum(len(part) for part in message)


class Outbox:
    """Ordered outgoing texts. `put_*` never block; the connection's writer task drains with `get()`."""

    def __init__(self, max_notification_bytes: int = MAX_NOTIFICATION_BYTES,
                 max_response_bytes: int = MAX_RESPONSE_BYTES, max_responses: int = 16) -> None:
        self.max_notification_bytes = max_notification_bytes
        self.max_response_bytes = max_response_bytes
        self.max_responses = max_responses
        self._items: deque[tuple[bool, Message, int]] = deque()
        self.notification_bytes = 0
        self.response_bytes = 0
        self._responses = 0
        self.overflow: str | None = None
        """Why the outbox gave up on its client (too slow for its subscriptions), or None."""
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending_bytes(self) -> int:
        return self.notification_bytes + self.response_bytes

    def put_response(self, text: str) -> None:
        if self.closed:
            return
        size = len(text)
        self._items.append((False, text, size))
        self._responses += 1
        self.response_bytes += size
        self._update_room()
        self._ready.set()

    def put_notification(self, message: Message) -> None:
        """Queue a notification; past the byte bound the outbox overflows and closes (see `overflow`)."""
        if self.closed:
            return
        size = message_size(message)
        if self.notification_bytes + size > self.max_notification_bytes:
            self.overflow = (f"too slow: {self.notification_bytes + size} bytes of notifications unread "
                             f"(limit {self.max_notification_bytes}); subscribe to less or read faster")
            self.close()
            return
        self._items.append((True, message, size))
        self.notification_bytes += size
        self._ready.set()

    async def get(self) -> str:
        """The next message to send, waiting for one."""
        while not self._items:
            if self.closed:
                raise ConnectionResetError("outbox closed")
            self._ready.clear()
            await self._ready.wait()
        is_notification, message, size = self._items.popleft()
        if is_notification:
            self.notification_bytes -= size
        else:
            self._responses -= 1
            self.response_bytes -= size
            self._update_room()
        return message if isinstance(message, str) else "".join(message)

    def _update_room(self) -> None:
        if self._responses >= self.max_responses or self.response_bytes >= self.max_response_bytes:
            self._room.clear()
        else:
            self._room.set()

    async def wait_for_room(self) -> None:
        """Wait until the unsent responses are under both bounds: a client that never reads stops being read."""
        await self._room.wait()

    def close(self) -> None:
        """The connection is gone (or gave up): drop everything queued and release anyone waiting."""
        self.closed = True
        self._items.clear()
        self.notification_bytes = self.response_bytes = self._responses = 0
        self._room.set()
        self._ready.set()
