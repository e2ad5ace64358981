"""What an XML 1.0 document can hold. XML 1.0 allows only tab, line feed, carriage return and the characters
from U+0020 up, less the surrogates and U+FFFE/U+FFFF (the `Char` production); anything else, most C0 control
characters, cannot be in a document at all, not even as a character reference. So it cannot be escaped: a
writer refuses it, and the eligibility rule customer_text_not_writable keeps such a customer (or one whose
name or address breaks lines, which the booking's schema refuses) out of the booking before any writer sees it."""

from __future__ import annotations

import re

# The Char production of XML 1.0 (fifth edition), as ranges of code points.
_XML_CHAR_RANGES = ((0x9, 0xA), (0xD, 0xD), (0x20, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF))

_NOT_XML_CHAR = re.compile("[^" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _XML_CHAR_RANGES) + "]")


class NotXmlText(ValueError):
    """A value XML 1.0 cannot hold; the message names where it is and the character, never the value."""


def is_xml_text(value: str | None) -> bool:
    return value is None or _NOT_XML_CHAR.search(value) is None


def is_single_line_xml_text(value: str | None) -> bool:
    """XML text without line breaks: what a name or address field of the REV booking schema accepts."""
    return is_xml_text(value) and (value is None or ("\n" not in value and "\r" not in value))


def check_xml_text(value: str | None, where: str) -> str | None:
    """`value` unchanged, or NotXmlText naming `where` (e.g. the partner, customer_ref and field), the
    character's code point and position: the value itself may be personal data and is never repeated."""
    match = None if value is None else _NOT_XML_CHAR.search(value)
    if match is not None:
        raise NotXmlText(f"{where}: character U+{ord(match.group()):04X} at position {match.start() + 1} cannot be "
                         "written in XML 1.0 (control characters other than tab and line breaks are not allowed)")
    return value
