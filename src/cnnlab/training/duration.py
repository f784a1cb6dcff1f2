"""Wall-clock durations as people write them (`--time 90s`, `3m`, `1.5m`, `2h`) and read them (`2m57s`)."""
from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str | float) -> float:
    """Seconds (> 0) from '90', '90s', '3m', '1.5m' or '2h'; a ValueError naming the text and the accepted forms."""
    match = _DURATION.fullmatch(str(text).strip().lower())
    seconds = float(match.group(1)) * _UNIT[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ValueError(f"time {str(text)!r} is not a duration; give seconds (90 or 90s), minutes (3m, 1.5m) "
                         f"or hours (2h), more than 0")
    return seconds


def format_duration(seconds: float) -> str:
    """'45s', '2m57s', '1h02m': a wall time as people read it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
