"""Exports for a demo lot: real instrument files (samples/) with the lot's sample ID and today's analysis time."""

import re
from datetime import datetime
from pathlib import Path

from manufacturing.core import clock

SAMPLES = Path(__file__).resolve().parent / "samples"
BLU_ID, BLU_TIME = '"NK-2026-0001-D7"', re.compile(r'"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}"')
NC200_ID, NC200_SERIAL = "G123426200001", "9000201099909999"


def vi_cell_blu(sample_id: str, at: datetime) -> bytes:
    """A Vi-CELL BLU results CSV of one sample (its time written in the site's local time, as the BLU does)."""
    local = clock.to_local(at)
    text = (SAMPLES / "vi_cell_blu.csv").read_text(encoding="utf-8")
    text = text.replace(BLU_ID, '"' + sample_id.replace('"', '""') + '"', 1)
    text = BLU_TIME.sub(f'"{local.month}/{local.day}/{local.year} {local:%H:%M}"', text, count=1)
    return text.encode("utf-8")


def nucleoview_nc200(sample_id: str, at: datetime, serial_number: str = NC200_SERIAL) -> bytes:
    """A NucleoView NC-200 export of one sample (the ID is read from the image name: no "-" in it)."""
    if any(character in sample_id for character in "-;,\r\n"):
        raise ValueError("a NucleoView sample ID holds no '-', ';', ',' or line break")
    local = clock.to_local(at)
    offset = int(local.utcoffset().total_seconds() // 3600)
    text = (SAMPLES / "nucleoview_nc200.csv").read_text(encoding="utf-8")
    text = text.replace(NC200_ID, sample_id).replace("20231120-0012", f"{local:%Y%m%d}-0012")
    text = re.sub(r"Date time;\d{8} \d{6}", f"Date time;{local:%Y%m%d %H%M%S}", text)
    text = re.sub(r"Time zone offset;-?\d+", f"Time zone offset;{offset}", text)
    return text.replace(f"s/n {NC200_SERIAL}", f"s/n {serial_number}").encode("utf-8")


EXPORTS = {"vi-cell-blu": (vi_cell_blu, "csv"), "nc-200": (nucleoview_nc200, "csv")}
