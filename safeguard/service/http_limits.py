"""Limits on what a connection may cost before the application sees a request.

uvicorn's httptools protocol bounds neither the size of request headers nor the
time a client takes to send them: a 64 MiB header was read in full without a key,
16 unfinished ones held 550 MiB, and connections trickling a byte at a time were
held for as long as the client liked. This protocol adds, per connection:

* a cap on header bytes (431, then the connection is closed), counted as they
  arrive, so what is buffered is bounded by the cap plus one socket read;
* a deadline for the whole header block from the connection's or request's first
  byte (408), however slowly it trickles in;
* an idle timeout while a body is being received (408, as ``client_body_timeout``).

Bodies are capped separately (:mod:`safeguard.service.limits`), and connections
per worker by uvicorn's ``limit_concurrency`` (503). A reverse proxy in front
should still set its own, lower limits (see the README).

A refused connection is closed the way nginx closes one (a lingering close): the answer,
a half-close, then at most 2 s or 8 MiB of whatever the client still sends is read and
dropped, so that a client still sending receives the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from safeguard.service.settings import ServiceSettings


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int
    header_timeout: float
    body_timeout: float


@cache
def http_limits() -> HttpLimits:
    """The limits of this worker, from the environment ``safeguard serve`` set up."""
    settings = ServiceSettings()
    return HttpLimits(settings.max_header_bytes, settings.header_timeout, settings.body_timeout)


_LINGER_SECONDS = 2.0  # after a refusal, at most this long reading what still comes
_LINGER_BYTES = 8 << 20  # or at most this much of it


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits = http_limits()
        self._reading_headers = False  # a request has begun and its headers are not complete
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._linger_left = 0  # bytes still read and dropped after a refusal
        self._linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()  # a connection that never sends a byte is dropped too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self._linger_timer = _cancelled(self._linger_timer)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered: what still comes is read and dropped (see _linger)
            self._linger_left -= len(data)
            if self._linger_left <= 0:
                self.transport.close()
            return
        # Only a chunk that arrives while headers are awaited counts against the cap,
        # so a body in the same chunk never does: the overshoot is one socket read.
        counting = self._reading_headers
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if counting and self._reading_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"request headers over {self.limits.max_header_bytes:,} bytes")

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a refusal has already answered and closed the connection
            super().send_400_response(msg)

    # -- parser callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = 0
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._header_timer = _cancelled(self._header_timer)
        super().on_headers_complete()
        self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm_body_timer()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._body_timer = _cancelled(self._body_timer)

    # -- timers and refusals -------------------------------------------------------

    def _arm_header_deadline(self) -> None:
        if self._header_timer is None:
            seconds = self.limits.header_timeout
            self._header_timer = self._timeout(
                seconds, f"headers not received within {seconds:g} s"
            )

    def _arm_body_timer(self) -> None:
        _cancelled(self._body_timer)
        seconds = self.limits.body_timeout
        self._body_timer = self._timeout(seconds, f"request body stalled for {seconds:g} s")

    def _timeout(self, seconds: float, message: str) -> asyncio.TimerHandle:
        return self.loop.call_later(seconds, self._refuse, 408, message)

    def _cancel_timers(self) -> None:
        self._header_timer = _cancelled(self._header_timer)
        self._body_timer = _cancelled(self._body_timer)

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` (unless a response has begun) and close the connection."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_timers()
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(_plain_response(status, message))
        if cycle is not None:
            cycle.disconnected = True  # the application's receive() sees a disconnect
            cycle.message_event.set()
        self._linger()

    def _linger(self) -> None:
        """End the connection after a refusal without losing the refusal: send it and a
        half-close, then read and drop what the client is still sending, for a moment,
        before closing. Closing with its bytes unread makes the kernel reset the
        connection, and the reset can reach the client before the answer (nginx's
        lingering close does the same)."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._linger_left = _LINGER_BYTES
        self._linger_timer = self.loop.call_later(_LINGER_SECONDS, self.transport.close)


def _cancelled(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


def _plain_response(status: int, message: str) -> bytes:
    body = message.encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body
