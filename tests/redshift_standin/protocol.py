"""PostgreSQL wire-protocol framing (version 3): what the stand-in reads and writes.

Every message after start-up is ``type byte + int32 length (including itself) + body``; the
start-up packet has no type byte. https://www.postgresql.org/docs/current/protocol-message-formats.html
"""

from __future__ import annotations

import socket
import struct

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608


class Closed(Exception):
    """The peer closed the connection."""


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes from ``sock``; Closed when it ends first."""
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_startup(sock: socket.socket) -> tuple[int, bytes]:
    """A start-up packet: (code, rest of the body)."""
    (length,) = struct.unpack("!i", recv_exact(sock, 4))
    body = recv_exact(sock, length - 4)
    (code,) = struct.unpack("!i", body[:4])
    return code, body[4:]


def parse_startup_params(body: bytes) -> dict[str, str]:
    """The key/value pairs of a StartupMessage body (after the protocol number)."""
    parts = body.split(b"\0")
    params = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode()] = parts[i + 1].decode()
    return params


def startup_message(params: dict[str, str]) -> bytes:
    body = (
        struct.pack("!i", PROTOCOL_3)
        + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items())
        + b"\0"
    )
    return struct.pack("!i", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One typed message: (type byte, body)."""
    header = recv_exact(sock, 5)
    kind = header[:1]
    (length,) = struct.unpack("!i", header[1:])
    return kind, recv_exact(sock, length - 4)


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstring(body: bytes, start: int = 0) -> tuple[str, int]:
    """The NUL-terminated string at ``start`` and the offset after it."""
    end = body.index(b"\0", start)
    return body[start:end].decode(), end + 1


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", name.encode() + b"\0" + value.encode() + b"\0")


def error_response(message_text: str, sqlstate: str = "XX000", severity: str = "ERROR") -> bytes:
    fields = [(b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message_text)]
    return message(b"E", b"".join(k + v.encode() + b"\0" for k, v in fields) + b"\0")


def error_fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse/NoticeResponse body: {"C": sqlstate, "M": message, ...}."""
    out, i = {}, 0
    while i < len(body) and body[i : i + 1] != b"\0":
        key = body[i : i + 1].decode()
        value, i = cstring(body, i + 1)
        out[key] = value
    return out
