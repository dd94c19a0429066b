"""Masking of personal data for lists and anything public (脱敏)."""

from doudi.core.text import clean_text


def mask_id_number(id_number: str | None) -> str:
    """First 6 and last 4 digits kept: 500101********1234."""
    if not id_number:
        return ""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str | None) -> str:
    """138****5678."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str:
    """张*明 for three characters, 张* for two, the surname kept and the last character kept when longer.
    Masked on the visible characters: an invisible one never stands in for the surname."""
    name = clean_text(name)
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_account_number(number: str | None) -> str:
    """6222 **** **** 1234: the first 4 and last 4 digits of a bank account; a fixed middle, so the
    mask does not tell the number's length either. Shown everywhere but in the bank's payment file."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]} **** **** {number[-4:]}"
