"""Process-level helpers for bulk work: a forked helper process (both cores) and a pause of the cyclic GC."""
