"""The raw exports' local times (`analytics.export`): the business time zone's wall clock, to the second, written as
"YYYY-MM-DD HH:MM:SS" — for any instant, fractional seconds and daylight-saving zones included."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from analytics.export import local_time


@given(
    st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
    st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]),
)
def test_alocal_time_is_the_zones_wall_clock_to_the_second(epoch_s: float, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    expected = dt.datetime.fromtimestamp(epoch_s, zone).strftime("%Y-%m-%d %H:%M:%S")
    assert local_time(epoch_s, zone) == expected
