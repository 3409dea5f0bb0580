"""User text made safe to repost: what every text input goes through (services/common.clean_text).

Three things the bot must not relay as typed:

* masked links (``[discord.com/gift](https://evil.example)``): Discord renders the text and
  hides the address, so a job post, a DM or a case card would vouch for a phishing link.
  They become ``discord.com/gift (https://evil.example)``: the reader sees the real address.
* control and bidi-override characters (NUL, ``U+202E`` ...): they reorder or hide what
  is shown. They are removed (newlines and tabs stay where the field is multi-line).
* text that shows nothing (only ``U+200B``, ``U+2800``, ``U+3164``, variation selectors ...):
  a blank title or reason. Such text is refused by the caller (:func:`is_visible`).
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings, overrides, isolates and marks, and the BOM / zero width no-break space.
_STRIPPED = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff")
# Characters that draw nothing although Unicode does not call them spaces or format characters.
_BLANK = frozenset("\u2800\u3164\u115f\u1160\uffa0\u17b4\u17b5\u180e\u034f")
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}

# [text](address), [text](<address>), [text](address "title"), with spaces where Discord allows them
_MASKED_LINK = re.compile(r"\[([^\[\]]*)\]\(\s*<?([^\s()<>]*)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_MAX_PASSES = 50


def _defuse_once(text: str) -> str:
    return _MASKED_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(2) else m.group(1), text)


def defuse_links(text: str) -> str:
    """Masked links as ``text (address)``, repeated until none is left (a link may hide in a link)."""
    for _ in range(_MAX_PASSES):
        done = _defuse_once(text)
        if done == text:
            return done
        text = done
    return text.replace("](", "] (")  # pathological nesting: break the syntax itself


def strip_controls(text: str, *, multiline: bool) -> str:
    """Without control and bidi-override characters; newlines and tabs kept only if ``multiline``."""
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch if multiline else " ")
        elif ch in _STRIPPED or unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    return "".join(out)


def is_visible_char(ch: str) -> bool:
    if ch in _BLANK:
        return False
    if 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:  # variation selectors
        return False
    category = unicodedata.category(ch)
    # separators, controls, format characters (zero width spaces, joiners, tags), unassigned
    # and private-use code points, combining marks (nothing to combine with on their own)
    return category[0] not in "ZCM"


def is_visible(text: str) -> bool:
    """At least one character that draws something."""
    return any(is_visible_char(ch) for ch in text)


def safe_text(text: str, *, multiline: bool) -> str:
    """User text as the bot may repost it: controls stripped, masked links spelled out, trimmed."""
    return defuse_links(strip_controls(text, multiline=multiline)).strip()
