"""Pause Python's cyclic garbage collector around bulk work.

A draw or an import allocates millions of small objects (strings, tuples, records), none of
them in reference cycles; with many objects alive, the collector's repeated full passes over
them cost seconds (3-4x the parsing of a large import, ~20% of a draw). Pausing it is safe for
such work, and it is switched back on only if it was on before (pauses nest).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
