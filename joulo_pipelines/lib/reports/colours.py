"""The brand colour's companion colours on a report page, a statement and the MID scan."""

from __future__ import annotations


def text_on(colour: str) -> str:
    """The header's text colour on the brand colour: white, or near-black on a light brand colour."""
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    # White as long as it keeps WCAG's 3:1 for large text (the header's title), as brand colours are meant.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= 3 else "#1b1b1b"
