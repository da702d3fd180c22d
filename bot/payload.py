"""Replies as JSON, for the outbox: what is queued is exactly what the relay sends."""

from __future__ import annotations

import base64
from typing import Any

from bot.replies import Button, File, Image, Reply, Text


def to_json(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, Text):
        return {
            "type": "text",
            "text": reply.text,
            "buttons": [[[b.label, b.action] for b in row] for row in reply.buttons],
        }
    data = base64.b64encode(reply.data).decode("ascii")
    if isinstance(reply, File):
        return {
            "type": "file",
            "filename": reply.filename,
            "data": data,
            "mime_type": reply.mime_type,
            "caption": reply.caption,
        }
    return {"type": "image", "filename": reply.filename, "data": data, "caption": reply.caption}


def from_json(payload: dict[str, Any]) -> Reply:
    kind = payload.get("type")
    if kind == "text":
        rows = tuple(tuple(Button(label, action) for label, action in row) for row in payload.get("buttons", []))
        return Text(payload["text"], rows)
    data = base64.b64decode(payload["data"])
    if kind == "file":
        return File(payload["filename"], data, payload["mime_type"], payload.get("caption", ""))
    if kind == "image":
        return Image(payload["filename"], data, payload.get("caption", ""))
    raise ValueError(f"unknown payload type {kind!r}")
