"""The web panel's files: one HTML shell, one stylesheet, small JavaScript modules and
the Vazirmatn font, all shipped inside the package (nothing is fetched from outside:
the cluster reaches no CDN).

Files are read once per process and kept with a content hash, so every answer has a
strong ``ETag`` and a conditional request costs no bytes. The shell is never cached
without revalidation (a deploy shows at the next load); the other files are
revalidated after an hour. Only names found in the folder are served: a path is
looked up in a dictionary, never joined onto the file system, so ``..`` cannot escape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
SHELL = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Scripts and styles only from our own files (no inline script, no eval); the API is
# the only thing fetched; attachments open as downloads, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SHELL_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=3600"


@dataclass(frozen=True)
class Asset:
    name: str
    data: bytes
    content_type: str
    etag: str

    @property
    def cache_control(self) -> str:
        return SHELL_CACHE if self.name == SHELL else ASSET_CACHE


def load_assets(root: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every servable file under ``root`` by its relative name (``fonts/x.woff2``)."""
    found: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None:
            continue
        data = path.read_bytes()
        name = path.relative_to(root).as_posix()
        etag = hashlib.sha256(data).hexdigest()[:32]
        found[name] = Asset(name, data, content_type, etag)
    return found
