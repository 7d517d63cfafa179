"""File names from uploads, made safe to store, to show and to put in a header.

People name files in Persian, so letters of any script stay. What goes: directory
parts (``../../etc/passwd``), control characters, characters Windows forbids, and the
invisible bidirectional controls that make ``invoice\u202egnp.exe`` display as
``invoiceexe.png``. ZWNJ stays (Persian spelling needs it).
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 200
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|]')
# Bidi embeddings/overrides/isolates, LRM/RLM/ALM, zero-width space/joiner, BOM.
_INVISIBLE = re.compile("[\u061c\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")
FALLBACK_NAME = "attachment"


def sanitise_file_name(name: str | None) -> str:
    if not name:
        return FALLBACK_NAME
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _INVISIBLE.sub("", name)
    name = _FORBIDDEN.sub("", name)
    name = _SPACES.sub(" ", name).strip(" .")
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or FALLBACK_NAME


def extension_of(name: str) -> str:
    """The lower-case extension without the dot ('' when there is none)."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def ascii_fallback(name: str) -> str:
    """For the plain ``filename=`` of Content-Disposition (old clients): ASCII only;
    the real name goes in ``filename*`` (RFC 6266 / 5987)."""
    extension = extension_of(name)
    stem = name[: -len(extension) - 1] if extension else name
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._\- ]", "_", ascii_stem).strip(" ._")
    if not ascii_stem.strip("_"):
        ascii_stem = FALLBACK_NAME
    ascii_extension = re.sub(r"[^a-z0-9]", "", extension)
    return f"{ascii_stem}.{ascii_extension}" if ascii_extension else ascii_stem
