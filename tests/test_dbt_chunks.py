"""metrics_core/dbt_chunks.py: a long dbt window as consecutive chunks, and its setting."""

from datetime import date

import pytest

from metrics_core.dbt_chunks import MAX_WINDOW_ENV, max_window_days, window_chunks

D = date(2026, 9, 1)


def test_chunks_cover_the_window_in_order_without_overlap():
    end = date(2026, 10, 1)
    chunks = window_chunks(D, end, 7)
    assert chunks[0] == (D, date(2026, 9, 8)) and chunks[-1] == (date(2026, 9, 29), end)
    assert len(chunks) == 5 and all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    assert window_chunks(D, end, 0) == [(D, end)]  # off: one window
    assert window_chunks(D, date(2026, 9, 8), 7) == [(D, date(2026, 9, 8))]  # fits: one window


def test_the_setting_is_a_whole_number_of_days_named_when_wrong():
    assert max_window_days({}) == 0 and max_window_days({MAX_WINDOW_ENV: " 7 "}) == 7
    for bad in ("seven", "-1", "2.5"):
        with pytest.raises(ValueError, match=MAX_WINDOW_ENV):
            max_window_days({MAX_WINDOW_ENV: bad})
