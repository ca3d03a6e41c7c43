"""The package's certificate.json is written by orjson but must stay byte for byte what
`json.dumps(cert, ensure_ascii=False, indent=2)` writes (the published format); the stored
certificate is read back by orjson as the json module reads it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import orjson

from scheduler.draw import certificate
from scheduler.draw.certificate import certificate_json, load_stored, stored_json

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_certificate_json_is_the_json_modules_text(cert):
    assert certificate_json(cert) == json.dumps(cert, ensure_ascii=False, indent=2) + "\n"
    if not _big_ints(cert):  # (`stored_json` refuses those)
        stored = stored_json(cert).decode("ascii")
        assert load_stored(stored) == json.loads(stored)


def _big_ints(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return not -(2**63) <= v < 2**64
    if isinstance(v, list):
        return any(map(_big_ints, v))
    if isinstance(v, dict):
        return any(map(_big_ints, v.values()))
    return False


def test_small_and_exponent_numbers_are_written_as_json_writes_them():
    for cert in ({"a": [1e-05, 0.0001, 1e+22, 2.5]}, {"b": {"c": 1e-07}}, {"d": "x: 1e-5", "e": 3e-300}):
        assert certificate_json(cert) == json.dumps(cert, ensure_ascii=False, indent=2) + "\n"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.lists(st.text(max_size=12) | st.integers(-(2**63), 2**63 - 1), max_size=6),
                       max_size=6),
       st.integers(min_value=1, max_value=40))
def test_stored_json_escapes_beyond_ascii_in_one_pass_as_run_by_run(obj, step):
    """The one C pass for U+0100..U+FFFF (here in pieces of `step` bytes) escapes as the run by
    run path does, which escapes each run as json.dumps does."""
    data = orjson.dumps(obj)
    expected = certificate._escaped_runs(data) if not data.isascii() else data
    assert stored_json(obj) == expected
    if not any(data.find(lead) >= 0 for lead in certificate._NOT_U4_LEADS):
        assert certificate._escaped_u4(data, step) == expected
    assert json.loads(stored_json(obj)) == obj
