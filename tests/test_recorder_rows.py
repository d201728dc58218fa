"""The recorder's chunked row buffers: what goes in comes out, typed, across chunk boundaries, and a
bill settled after its chunk was compacted lands in the right row (checked against a plain array)."""

from __future__ import annotations

import numpy as np

from llmsim.engine import recorder as R


def test_rows_round_trip_across_chunks_with_late_settles():
    rng = np.random.default_rng(3)
    n = 2 * R._ROWS + 123  # two compacted chunks and a partial one
    ref = {"i": rng.integers(-5, 2**40, n), "x": rng.random(n)}
    rows = R._Rows((("i", np.int64), ("x", float)))
    for k in range(n):
        rows.buf.extend((ref["i"][k], ref["x"][k]))
        rows.n += 1
        if k & R._MASK == R._MASK:
            rows.compact()
    late = rng.choice(n, 50, replace=False)  # rows in compacted chunks and in the open buffer
    for k in late:
        rows.set(int(k), 1, -float(k))
        ref["x"][k] = -float(k)
    assert [rows.get(int(k), 0) for k in late] == ref["i"][late].tolist()
    i, x = rows.columns()
    assert i.dtype == np.int64 and x.dtype == float
    np.testing.assert_array_equal(i, ref["i"])
    np.testing.assert_array_equal(x, ref["x"])
