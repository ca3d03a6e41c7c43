"""ui/warmup.py: the heavy modules are imported once per process, in the background."""

from __future__ import annotations

import sys

import streamlit as st

from ui import warmup


def test_warmup_imports_the_modules_once_in_a_background_thread():
    st.cache_resource.clear()
    try:
        t = warmup.start(("json.tool", "no_such_module_dsr"))  # a missing module is skipped
        assert t.name == "dsr-warmup" and t.daemon
        t.join(timeout=30)
        assert not t.is_alive() and "json.tool" in sys.modules
        assert warmup.start(("json.tool", "no_such_module_dsr")) is t  # once per process
    finally:
        st.cache_resource.clear()
