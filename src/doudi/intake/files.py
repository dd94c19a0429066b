"""Attachment checks: the type is read from the file's content, never trusted from its name.

Allowed: PDF, JPEG, PNG and Excel workbooks (.xlsx). A file whose bytes are not one of these is
refused whatever its extension; one whose extension disagrees with its content is refused too, so
nobody downloads a "scan.pdf" that is really a workbook.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    name: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("pdf", "application/pdf", (".pdf",))
JPEG = FileKind("jpg", "image/jpeg", (".jpg", ".jpeg"))
PNG = FileKind("png", "image/png", (".png",))
XLSX = FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
ALLOWED = (PDF, JPEG, PNG, XLSX)


def max_bytes() -> int:
    return int(getattr(settings, "DOUDI_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def sniff(data: bytes) -> FileKind | None:
    """The kind the bytes actually are, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"PK\x03\x04"):
        # Every OOXML file is a zip; a workbook has the content-types part and the xl/workbook part.
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return XLSX
    return None


def check_upload(name: str, data: bytes) -> FileKind:
    """The file's kind, or ValidationError({"file": …}) naming what is wrong."""
    limit = max_bytes()
    if not data:
        raise ValidationError({"file": _("文件为空。")})
    if len(data) > limit:
        # Only the limit: callers read at most limit + 1 bytes of an upload, so len(data) is not its size.
        raise ValidationError({"file": _("文件过大，上限为 %(limit)s。") % {"limit": filesizeformat(limit)}})
    kind = sniff(data)
    if kind is None:
        raise ValidationError({"file": _("只接受 PDF、JPG、PNG 或 XLSX 文件（按文件内容识别）。")})
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if ext not in kind.extensions:
        raise ValidationError(
            {
                "file": _("文件扩展名“%(ext)s”与文件内容（%(kind)s）不符。")
                % {"ext": ext or _("无"), "kind": kind.name.upper()}
            }
        )
    return kind
