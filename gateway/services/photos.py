"""An applicant's three photos (portrait, CCCD front, CCCD back): checked and re-encoded
(policies/images.py), then kept in the file store (providers/files.py) — or removed again.

Why in two steps: a declaration is refused whole when any field is wrong, and nothing of a
refused declaration may stay behind. So every photo is checked and re-encoded first, in
memory (a re-encoded photo is at most 2048 pixels on a side: about a megabyte), and the file
store is written only for a declaration that passed every check; if what follows fails (the
database, a lost race), :func:`discard` removes what was stored.

Memory: the uploads themselves are spooled to temporary files by Werkzeug (parts over
500 KB) and read from there by the decoder; one photo is decoded at a time, and its decoded
pixels are released before the next one is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from flask import current_app

from policies.declaration import FILE_FIELDS, REPEATED
from policies.images import CleanImage, ImageLimits, ImageRefused, clean_image
from providers.files import FileStore

log = logging.getLogger(__name__)
REQUIRED = "required"


def limits() -> ImageLimits:
    cfg = current_app.config
    return ImageLimits(max_bytes=cfg["UPLOAD_MAX_BYTES"], max_pixels=cfg["UPLOAD_MAX_PIXELS"])


def request_limit() -> int:
    """The largest body a declaration may have: its three photos and its form fields (at
    most MAX_CONTENT_LENGTH, the limit of every other request)."""
    cfg = current_app.config
    return len(FILE_FIELDS) * cfg["UPLOAD_MAX_BYTES"] + cfg["MAX_CONTENT_LENGTH"]


def clean_photos(files: Mapping[str, Sequence[BinaryIO]]) -> tuple[dict[str, CleanImage],
                                                                    dict[str, str]]:
    """Each photo field's re-encoded image, and ``{field: code}`` for every one refused
    (``required``, ``repeated``, or a code of policies/images.py)."""
    bounds = limits()
    images: dict[str, CleanImage] = {}
    errors: dict[str, str] = {}
    for name in FILE_FIELDS:
        streams = list(files.get(name) or ())
        if len(streams) > 1:
            errors[name] = REPEATED
            continue
        if not streams:
            errors[name] = REQUIRED
            continue
        try:
            images[name] = clean_image(streams[0], bounds)
        except ImageRefused as exc:
            log.info("photo refused", extra={"field": name, "reason": exc.code,
                                             "detail": str(exc)})
            errors[name] = exc.code
    return images, errors


def _store() -> FileStore:
    return current_app.extensions["gateway.files"]


def store(images: Mapping[str, CleanImage]) -> dict[str, str]:
    """Keeps each image; ``{field: file-store key}``. All or none: a failure removes the
    ones already written before it re-raises."""
    files = _store()
    keys: dict[str, str] = {}
    try:
        for name, image in images.items():
            keys[name] = files.put(image.data, image.content_type)
    except BaseException:
        discard(keys.values())
        raise
    return keys


def discard(keys) -> None:
    """Removes stored photos of a declaration that was not kept (never raises: a file left
    behind is logged, the answer is not changed by it)."""
    files = _store()
    for key in keys:
        try:
            files.delete(key)
        except OSError:
            log.exception("a photo of a declaration not kept could not be removed")
