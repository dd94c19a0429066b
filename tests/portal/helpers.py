"""Test data for the portal tests: valid ID numbers and a real PNG to upload."""

import datetime
import io

from stdnum.cn import ric

# A 1×1 PNG: real image bytes for upload tests.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def id_number(prefix="500101", birth=datetime.date(1985, 4, 2), seq=1) -> str:
    body = f"{prefix}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def png(name="scan.png"):
    f = io.BytesIO(PNG)
    f.name = name
    return f
