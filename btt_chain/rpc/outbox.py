"""One WebSocket's outgoing messages, in order. Responses are always kept; notifications are bounded and the
oldest is dropped when a slow client falls behind, so the node never waits on a subscriber."""

from __future__ import annotations

import asyncio
from collections import deque


class Outbox:
    """Ordered outgoing texts. `put_*` never block; the connection's writer task drains with `get()`."""

    def __init__(self, max_notifications: int = 256, max_responses: int = 16) -> None:
        self.max_notifications = max_notifications
        self.max_responses = max_responses
        self._items: deque[tuple[bool, str]] = deque()
        self._notifications = 0
        self._responses = 0
        self.dropped = 0
        """Notifications dropped so far because the client read too slowly."""
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put_response(self, text: str) -> None:
        if self.closed:
            return
        self._items.append((False, text))
        self._responses += 1
        if self._responses >= self.max_responses:
            self._room.clear()
        self._ready.set()

    def put_notification(self, text: str) -> None:
        if self.closed:
            return
        self._items.append((True, text))
        self._notifications += 1
        while self._notifications > self.max_notifications:
            self._drop_oldest_notification()
        self._ready.set()

    def _drop_oldest_notification(self) -> None:
        for i, (is_notification, _) in enumerate(self._items):
            if is_notification:
                del self._items[i]
                self._notifications -= 1
                self.dropped += 1
                return

    async def get(self) -> str:
        """The next message to send, waiting for one."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        is_notification, text = self._items.popleft()
        if is_notification:
            self._notifications -= 1
        else:
            self._responses -= 1
            if self._responses < self.max_responses:
                self._room.set()
        return text

    async def wait_for_room(self) -> None:
        """Wait until fewer than `max_responses` responses are unsent: a client that never reads stops being read."""
        await self._room.wait()

    def close(self) -> None:
        """The connection is gone: drop everything queued and release a reader waiting for room."""
        self.closed = True
        self._items.clear()
        self._room.set()
