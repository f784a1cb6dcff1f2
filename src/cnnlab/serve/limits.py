"""A cap on request bodies, enforced while they arrive (a huge upload is refused before it is all read)."""
from __future__ import annotations

import json

BODY_SLACK = 64 * 1024  # bytes of a request beyond the upload itself (multipart headers, form fields)
TOO_LARGE = "cnnlab.body_too_large"  # scope key set when the cap was hit (a form parser may turn it into a 400)


def size_text(n: int) -> str:
    """Bytes as '10 MB' or '98 KB'."""
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 2**10:.3g} KB"


class BodyLimit:
    """ASGI middleware: answer 413 to a request body larger than `limit` bytes, before it is all read."""

    def __init__(self, app, limit: int, shown: int):
        self.app, self.limit, self.shown = app, limit, shown  # shown: the upload limit the message names

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._too_large(send)
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                scope[TOO_LARGE] = self.message()
                raise _TooLarge()
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    def message(self) -> str:
        return f"the request is larger than the upload limit ({size_text(self.shown)})"

    async def _too_large(self, send):
        body = json.dumps({"detail": self.message()}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
