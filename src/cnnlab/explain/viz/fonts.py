"""Text in figures in any script: a font fallback list, and class names shown by index when no font has them.

matplotlib (≥ 3.6) draws each glyph from the first font of `font.family` that has it, so the user's own
family comes first and any installed font with wide coverage (Noto Sans CJK from Debian's fonts-noto-cjk,
Droid Sans Fallback, WenQuanYi...) after it.  A name whose glyphs no installed font has would be drawn as
empty boxes with one warning per glyph; such a name is shown as its index instead, with a note that spells
it out in escapes.  Missing-glyph warnings are silenced locally (while drawing), never globally.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache

import matplotlib
from matplotlib import font_manager

# Families with wide Unicode coverage, tried after the user's own font (only those installed are used).
FALLBACK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR", "Noto Sans CJK TC",
                     "Source Han Sans", "Droid Sans Fallback", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                     "Noto Sans", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari", "Noto Sans Thai",
                     "Arial Unicode MS", "Microsoft YaHei", "Malgun Gothic", "Hiragino Sans", "Apple SD Gothic Neo")
INSTALL_HINT = "install a font with these glyphs (Debian: apt-get install fonts-noto-cjk) to see the names"


@lru_cache(maxsize=1)
def fallback_families() -> tuple[str, ...]:
    """The FALLBACK_FAMILIES installed on this machine (naming a missing one would log a findfont warning)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(f for f in FALLBACK_FAMILIES if f in installed)


def families() -> list[str]:
    """The user's font.family followed by the installed fallbacks: what figures draw text with."""
    own = matplotlib.rcParams["font.family"]
    own = [own] if isinstance(own, str) else list(own)
    return own + [f for f in fallback_families() if f not in own]


@lru_cache(maxsize=8)
def _coverage(family: tuple[str, ...]) -> frozenset[int]:
    """Code points that some font of the family list can draw."""
    from matplotlib.ft2font import FT2Font

    points: set[int] = set()
    for name in family:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=[name]), fallback_to_default=False)
            points.update(FT2Font(path).get_charmap())
        except (ValueError, OSError, RuntimeError):  # not installed, or a font FreeType cannot read
            continue
    return frozenset(points)


def drawable(text: str) -> bool:
    """True when every visible character of text has a glyph in the figure fonts."""
    covered = _coverage(tuple(families()))
    return all(ord(ch) in covered for ch in text if not ch.isspace())


def escaped(text: str) -> str:
    """text with each character the fonts lack written as a \\uXXXX escape (never drawn as an empty box)."""
    covered = _coverage(tuple(families()))
    return "".join(ch if ch.isspace() or ord(ch) in covered else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def shown_names(names: list[str]) -> tuple[list[str], str]:
    """Names to draw and a note for the figure: a name the fonts cannot draw becomes '[i]' (its index), and
    the note spells it out ('[3] = \\u732b'); the note is '' when every name can be drawn."""
    shown, missing = [], []
    for i, name in enumerate(names):
        if drawable(name):
            shown.append(name)
        else:
            shown.append(f"[{i}]")
            missing.append(f"[{i}] = {escaped(name)}")
    note = f"classes by index: {', '.join(missing)} ({INSTALL_HINT})" if missing else ""
    return shown, note


@contextmanager
def drawing():
    """While building or rendering a figure: the fallback fonts, and no missing-glyph warnings."""
    with matplotlib.rc_context({"font.family": families()}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        yield
