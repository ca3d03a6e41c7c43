"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registering authority (1), entity category (1), area code
GB/T 2260 (6), organisation code GB 11714 (9, with its own mod-11 check
character at position 17), and a mod-31 check character at position 18.
"""

from __future__ import annotations

import unicodedata

from scheduler.errors import DsrError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714 organisation code: 8 body characters from digits and capital
# letters, weights below, check = 11 - (sum mod 11), 10 -> 'X', 11 -> '0'.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class USCCError(DsrError, ValueError):
    """A code that is not a valid USCC; `reason` is the Chinese message for planners."""

    code = "uscc.invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise(code: str) -> str:
    """NFKC (full-width to half-width), strip blanks, upper-case."""
    return unicodedata.normalize("NFKC", code).strip().upper()


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (all from ALPHABET)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """GB 11714 check character for an 8-character organisation code body."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS))
    r = 11 - total % 11
    return "X" if r == 10 else ("0" if r == 11 else str(r))


def validate(code: str) -> str:
    """Return the normalised code, or raise USCCError saying what is wrong.

    Only the GB 32100 check character is enforced; the embedded GB 11714
    check (position 17) is not, because codes re-issued from old registration
    numbers legitimately fail it.
    """
    c = normalise(code)
    if len(c) != 18:
        raise USCCError(f"长度应为18位，实际为{len(c)}位")
    bad = [ch for ch in c if ch not in _VALUE]
    if bad:
        raise USCCError(f"含有不允许的字符“{bad[0]}”（不得使用 I、O、S、V、Z）")
    if not c[2:8].isdigit():
        raise USCCError("第3至8位登记管理机关行政区划码应为数字")
    expected = check_char(c[:17])
    if c[17] != expected:
        raise USCCError(f"校验码错误：第18位应为“{expected}”，实际为“{c[17]}”")
    return c


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except USCCError:
        return False
    return True


def make(authority: str, category: str, area: str, org_body8: str) -> str:
    """Build a valid code from its parts (used by the demo generator and tests)."""
    org = org_body8 + org_check_char(org_body8)
    first17 = authority + category + area + org
    if len(first17) != 17:
        raise ValueError("parts must make 17 characters")
    return first17 + check_char(first17)
