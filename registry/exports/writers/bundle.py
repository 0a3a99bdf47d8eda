"""Zip bundle: several files plus a manifest.json that lists each member with its size and SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from typing import Any

CHUNK = 1024 * 1024


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bundle(path: str, members: list[tuple[str, str]], manifest: dict[str, Any]) -> dict[str, Any]:
    """Zip `members` ((archive name, file path)) with a manifest.json; returns the manifest as written."""
    listing = [{"name": name, "bytes": os.path.getsize(src), "sha256": sha256_file(src)} for name, src in members]
    manifest = {**manifest, "files": listing}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, src in members:
            zf.write(src, arcname=name)
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return manifest
