"""A small RGB canvas for the pictures the finale draws without matplotlib: filled rectangles, an image pasted in,
and numbers written in a 3 x 5 bitmap font (digits, ".", "-", "x" and "p": tick labels, axis names).

Standard library only; ``pixels`` are what kata.png writes (rows top to bottom, three bytes per pixel).
"""
from __future__ import annotations

Colour = tuple[int, int, int]

#: 3 x 5 glyphs, one string of three "#"/"." per row.
GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ".": ("...", "...", "...", "...", ".#."),
    "-": ("...", "...", "###", "...", "..."),
    "x": ("...", "#.#", ".#.", "#.#", "#.#"),
    "p": ("...", "###", "#.#", "###", "#.."),
    " ": ("...", "...", "...", "...", "..."),
}
GLYPH_WIDTH, GLYPH_HEIGHT = 3, 5


class Canvas:
    def __init__(self, width: int, height: int, background: Colour = (255, 255, 255)):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def fill(self, left: int, top: int, width: int, height: int, colour: Colour) -> None:
        """A filled rectangle, clipped to the canvas."""
        x0, x1 = max(0, left), min(self.width, left + width)
        if x0 >= x1:
            return
        row = bytes(colour) * (x1 - x0)
        for y in range(max(0, top), min(self.height, top + height)):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def paste(self, left: int, top: int, width: int, height: int, pixels: bytes) -> None:
        """An RGB image (rows top to bottom) with its top-left corner at (left, top); it must fit."""
        if left < 0 or top < 0 or left + width > self.width or top + height > self.height:
            raise ValueError("the image does not fit on the canvas")
        stride = width * 3
        for y in range(height):
            start = ((top + y) * self.width + left) * 3
            self.pixels[start:start + stride] = pixels[y * stride:(y + 1) * stride]

    def frame(self, left: int, top: int, width: int, height: int, colour: Colour) -> None:
        """A one-pixel outline just outside the rectangle."""
        self.fill(left - 1, top - 1, width + 2, 1, colour)
        self.fill(left - 1, top + height, width + 2, 1, colour)
        self.fill(left - 1, top - 1, 1, height + 2, colour)
        self.fill(left + width, top - 1, 1, height + 2, colour)

    def text(self, left: int, top: int, text: str, colour: Colour, scale: int = 2) -> None:
        """``text`` (characters of GLYPHS) with its top-left corner at (left, top)."""
        for k, char in enumerate(text):
            glyph = GLYPHS[char]
            x0 = left + k * (GLYPH_WIDTH + 1) * scale
            for dy, row in enumerate(glyph):
                for dx, bit in enumerate(row):
                    if bit == "#":
                        self.fill(x0 + dx * scale, top + dy * scale, scale, scale, colour)


def text_width(text: str, scale: int = 2) -> int:
    return (len(text) * (GLYPH_WIDTH + 1) - 1) * scale if text else 0
