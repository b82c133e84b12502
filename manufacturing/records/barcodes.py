"""Code 128 barcodes drawn locally by python-barcode, as SVG markup to inline in a print template.

The X dimension (narrowest bar) is 0.254 mm (10 mil): 3 dots of a 300 dpi label printer, so every bar
keeps its width when printed, and the DIN symbol fits a 47 mm quadrant. The quiet zone on each side
is 10 X, as Code 128 requires; the bars are 12 mm high. No text is drawn under the
bars: the label prints the eye-readable form itself (flags turned, check character boxed).
"""

import re

from barcode import Code128
from barcode.writer import SVGWriter

MODULE_WIDTH_MM = 0.254
QUIET_ZONE_MM = 10 * MODULE_WIDTH_MM
BAR_HEIGHT_MM = 12.0

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_GROUP_ID = ' id="barcode_group"'  # two symbols inlined in one page must not share an id
# Colours as SVG attributes: inline in HTML, a style attribute would be read as (unknown) CSS.
_FILL_STYLE = re.compile(r'style="fill:\s*([#a-z0-9]+);?"')


def code128_svg(data: str, bar_height_mm: float = BAR_HEIGHT_MM) -> str:
    """Draw `data` as a Code 128 symbol; return the <svg> element, sized in mm, without XML prolog."""
    options = {"module_width": MODULE_WIDTH_MM, "module_height": bar_height_mm, "quiet_zone": QUIET_ZONE_MM,
               "write_text": False, "margin_top": 0, "margin_bottom": 0, "compress": False}
    markup = Code128(data, writer=SVGWriter()).render(options).decode("utf-8")
    markup = _COMMENT.sub("", _PROLOG.sub("", markup, count=1)).replace(_GROUP_ID, "")
    return _FILL_STYLE.sub(r'fill="\1"', markup).strip()


def symbol_width_mm(data: str) -> float:
    """Width of the symbol of `data` with its quiet zones, in mm."""
    modules = len(Code128(data).build()[0])
    return round(modules * MODULE_WIDTH_MM + 2 * QUIET_ZONE_MM, 3)
