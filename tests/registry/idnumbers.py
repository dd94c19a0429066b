"""Resident ID numbers for registry tests, with the check digit computed here, independently of the
code under test (ISO 7064 MOD 11-2 as GB 11643-1999 defines it)."""

WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
CHECK_CHARS = "10X98765432"  # index: weighted sum mod 11


def check_char(body17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def make_id(area: str, birth: str, seq: int) -> str:
    body = f"{area}{birth}{seq % 1000:03d}"
    return body + check_char(body)
