"""How every private upload leaves the app: a family's, a lookup's, a reviewer's."""
from __future__ import annotations

from flask import Response, current_app


def private_file(storage_key: str, content_type: str, inline: bool = False) -> Response:
    """The stored bytes, kept by no cache and never re-typed by the browser (an upload that calls
    itself an image is shown as one or not at all)."""
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if inline:
        headers["Content-Disposition"] = "inline"
    return Response(current_app.extensions["ruxue_storage"].read(storage_key), mimetype=content_type, headers=headers)
