import pytest

from joulo_pipelines.lib.ean import gs1_check_digit, is_valid_ean
from joulo_pipelines.lib.quarters import Quarter


@pytest.mark.parametrize("text", ["2026-Q2", "2026q2", "2026-04-01"])
def test_a_quarter_reads_as_label_or_partition_key(text):
    quarter = Quarter.parse(text)
    assert (quarter.label, quarter.partition_key, quarter.end.isoformat()) == ("2026-Q2", "2026-04-01", "2026-07-01")


@pytest.mark.parametrize("text", ["2026-Q5", "2026-04-02", "next quarter"])
def test_anything_else_is_refused_with_what_is_accepted(text):
    with pytest.raises(ValueError, match="2026-Q1"):
        Quarter.parse(text)


def test_gs1_check_digit_of_dutch_eans():
    assert gs1_check_digit("87168590000000001") == 1
    assert is_valid_ean("871685900000000011")
    assert not is_valid_ean("871685900000000012")
    assert not is_valid_ean("87168590000000001")
