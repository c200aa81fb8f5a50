"""The larger body a declaration may send (its three photos), for its routes only.

Every other request keeps MAX_CONTENT_LENGTH (64 KiB). A declaration's limit is set on the
request before its body is read: Flask's per-request ``max_content_length`` (413 before
reading past it) and ``max_form_memory_size``. The latter bounds each text field in memory,
but Werkzeug's multipart decoder also holds up to one read (64 KiB) plus the tail it keeps
back while looking for the next boundary under that limit: at 64 KiB, any photo whose bytes
happened to end a read with a partial-boundary look-alike (a CR) was refused as too large.
"""

from __future__ import annotations

from flask import request

from gateway.services import photos

FORM_MEMORY = 256 * 1024  # a read (64 KiB) and the decoder's kept-back tail, with room


def accept_declaration_body() -> None:
    request.max_content_length = photos.request_limit()
    request.max_form_memory_size = FORM_MEMORY
