"""Files: image size sniffing, generated placeholder media and Telegram-like file ids."""

from __future__ import annotations

import base64
import random
import struct
import zlib
from functools import lru_cache

# Telegram's file_id prefixes by kind (the first bytes encode the type), so ids look familiar.
_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
}
_UNIQUE_PREFIX = {"photo": "AQAD", "document": "AgAD", "sticker": "AgAD", "voice": "AgAD"}
# Telegram keeps a photo in these sizes (longest side), each only if the original is larger.
PHOTO_SIZE_STEPS = (90, 320, 800, 1280)


def new_file_ids(rng: random.Random, kind: str) -> tuple[str, str]:
    """Return a (file_id, file_unique_id) pair shaped like Telegram's."""
    body = base64.urlsafe_b64encode(rng.randbytes(48)).decode().rstrip("=")
    unique = base64.urlsafe_b64encode(rng.randbytes(12)).decode().rstrip("=")
    return _FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + body, _UNIQUE_PREFIX.get(kind, "AgAD") + unique


def image_size(data: bytes) -> tuple[int, int, str] | None:
    """Width, height and extension of a PNG, JPEG, GIF, WebP or BMP image; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height, "png"
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height, "gif"
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height), "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int, str] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF, "webp"
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "webp"
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height, "webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int, str] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height, "jpg"
        i += 2 + length
    return None


@lru_cache(maxsize=16)
def make_png(width: int, height: int) -> bytes:
    """A real (grey) PNG of the given size, so a bot can download and open user photos."""
    width, height = max(1, width), max(1, height)
    row = b"\x00" + b"\xb0\xb8\xc0" * width
    raw = row * height

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def photo_steps(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each PhotoSize Telegram would keep for an image."""
    longest = max(width, height, 1)
    sizes: list[tuple[int, int]] = []
    for step in PHOTO_SIZE_STEPS:
        if longest > step:
            scale = step / longest
            sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
        else:
            sizes.append((width, height))
            break
    # Larger originals end at 1280 on the longest side (the last step), like Telegram's 'y'.
    return sizes


# Minimal but well-formed headers for media kinds the sandbox only needs to pretend about.
PLACEHOLDER_WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\xff\xc1\x7f\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
PLACEHOLDER_OGG = (
    b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
)
