"""An uploaded photo made safe to keep: recognised by its content, bounded, decoded and
re-encoded so that nothing but its pixels survives.

Why each step:

* **By content only.** The file name and the declared type are the sender's words; a renamed
  program says ``portrait.jpg`` and ``image/jpeg``. The first bytes must be a JPEG's
  (``FF D8 FF``) or a PNG's signature, and Pillow, asked to read only that format, must agree
  (a JPEG with several pictures — MPO, as some phones write — counts as a JPEG).
* **Bounded before decoding.** The byte size is checked on the spooled file before any
  decoding (``file_too_large``); the pixel count comes from the header alone and is checked
  before the pixels are decoded (``image_too_large``), so a decompression bomb (a small file
  declaring 100 000 × 100 000 pixels) costs a header read. Pillow's own bomb check is made an
  error as well, in case a plugin decodes more than its header declared.
* **Decoded and re-encoded.** Only the decoded pixels are written back (JPEG quality 90, or
  PNG), with the EXIF orientation applied first (a phone's portrait stays upright) and every
  ancillary part dropped: EXIF (GPS position, camera serial), XMP, ICC profile, comments, PNG
  text chunks, further frames. A polyglot (a picture that is also an archive or a script)
  does not survive either. A truncated or corrupt file fails to decode (``image_unreadable``).
* **Scaled to what staff need.** An image larger than MAX_SIDE on its long side is reduced to
  it: a 2048-pixel CCCD photo shows more detail than the card has. A big JPEG is decoded at
  1/2, 1/4 or 1/8 scale (the decoder's own, in the DCT) as far as that keeps DRAFT_SIDE
  pixels, so a phone's 12-megapixel photo never needs its full size in memory.
* **Not too small** (``image_too_small``): below MIN_SIDE pixels on a side, a face or a card
  cannot be compared with the person at the counter.

Pure: reads only the stream it is given, writes nothing; the caller stores the result.
Colours: an ICC profile is dropped, not applied; a wide-gamut (Display P3) photo is then read
as sRGB, slightly less saturated, which does not hinder recognising a face or a document.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

JPEG, PNG = "image/jpeg", "image/png"
_SIGNATURES = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
_FORMATS = {JPEG: ("JPEG", {"JPEG", "MPO"}), PNG: ("PNG", {"PNG"})}
MAX_SIDE = 2048
DRAFT_SIDE = MAX_SIDE * 9 // 10  # a JPEG's reduced decoding keeps at least this long side
MIN_SIDE = 200
JPEG_QUALITY = 90

# Stable codes (the 422 body's per-field codes).
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED = "unsupported_image"
UNREADABLE = "image_unreadable"
TOO_LARGE = "image_too_large"
TOO_SMALL = "image_too_small"
EMPTY = "required"  # an empty file part is no file


class ImageRefused(ValueError):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int  # of the uploaded file
    max_pixels: int  # width × height, as the file declares it


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int


def sniff(head: bytes) -> str | None:
    """The type the first bytes announce (JPEG or PNG), or None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def byte_size(stream: BinaryIO) -> int:
    """The size of a seekable stream, leaving it at its start."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def clean_image(stream: BinaryIO, limits: ImageLimits) -> CleanImage:
    """The photo in ``stream`` (seekable) re-encoded without metadata, or ImageRefused."""
    size = byte_size(stream)
    if size == 0:
        raise ImageRefused(EMPTY)
    if size > limits.max_bytes:
        raise ImageRefused(FILE_TOO_LARGE, f"{size} bytes")
    content_type = sniff(stream.read(8))
    stream.seek(0)
    if content_type is None:
        raise ImageRefused(UNSUPPORTED, "neither a JPEG nor a PNG signature")
    pillow_format, accepted = _FORMATS[content_type]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=[pillow_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused(TOO_LARGE, "decompression bomb (Pillow's check)") from None
        except Image.UnidentifiedImageError:
            raise ImageRefused(UNSUPPORTED, "Pillow does not read it as that format") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            raise ImageRefused(UNREADABLE, type(exc).__name__) from None
        with image:
            return _decode_and_encode(image, content_type, accepted, limits)


def _decode_and_encode(image, content_type: str, accepted: set[str],
                       limits: ImageLimits) -> CleanImage:
    if image.format not in accepted:
        raise ImageRefused(UNSUPPORTED, f"read as {image.format}")
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageRefused(TOO_LARGE, f"{width}x{height}")
    if min(width, height) < MIN_SIDE:
        raise ImageRefused(TOO_SMALL, f"{width}x{height}")
    try:
        if content_type == JPEG and max(width, height) > MAX_SIDE:
            # The decoder's own 1/2, 1/4, 1/8 scaling, down to DRAFT_SIDE on the long side:
            # a 12-megapixel 4032 x 3024 photo decodes straight to 2016 x 1512 (9 MB of
            # pixels instead of 37), with no resampling after it.
            scale = DRAFT_SIDE / max(width, height)
            image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # no copy unless it must turn
        if max(image.size) > MAX_SIDE:
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        upright = _plain_mode(image, content_type)
        # Nothing the file carried besides its pixels reaches the encoder (comments, ICC
        # profile, EXIF, XMP, text chunks are all read from here by Pillow's writers).
        upright.info = {}
        out = io.BytesIO()
        if content_type == JPEG:
            upright.save(out, "JPEG", quality=JPEG_QUALITY)
        else:
            upright.save(out, "PNG")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(TOO_LARGE, "decompression bomb") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError) as exc:
        raise ImageRefused(UNREADABLE, type(exc).__name__) from None
    return CleanImage(out.getvalue(), content_type, *upright.size)


def _plain_mode(image, content_type: str):
    """A mode the encoder writes as is: RGB or L for a JPEG; L, LA, RGB or RGBA for a PNG
    (a palette becomes RGB or RGBA, so no palette-level metadata such as a transparency
    index is carried over)."""
    mode = image.mode
    if content_type == JPEG:
        return image if mode in ("RGB", "L") else image.convert("RGB")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    has_alpha = "A" in mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")
