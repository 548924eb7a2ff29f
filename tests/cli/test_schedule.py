"""`btt-chain genesis schedule`: projected release per year against the published table."""

from __future__ import annotations

import json

from btt_chain.primitives.amounts import parse_btt
from genesis.loader import load_chain_spec
from genesis.release import format_bps, project_release
from tests.support.cli_runner import run

UNIT = 10**18




def test_btt21m_projection_by_hand():
    years = project_release(load_chain_spec("btt-21m"))
    # years count from launch: genesis is 2027-01-01, compared with the seed's 2025.. columns
    assert [y.label for y in years] == ["2027", "2028", "2029", "2030", "2031", "2032+"]
    assert [y.published_label for y in years] == ["2025", "2026", "2027", "2028", "2029", "2030+"]
    # end of year 5 (60.8 months): every linear row is complete and the Foundation cap too;
    # liquid 420,000 + linear rows 6,510,000 + Foundation 3,540,000 (after the 30,000 genesis burn)
    assert years[4].projected == years[5].projected == 10_470_000 * UNIT
    assert years[5].projected_bps == 4985
    # end of year 1 (365 days): row 1 is 6.1667 months past its cliff, rows 2-5 9.1667, row 7 12.1667,
    # row 6 (12-month cliff = 360 days) 5 days
    y1_ms = 365 * 86_400_000
    month_ms = 30 * 86_400_000
    expected = 420_000 * UNIT
    expected += 2_100_000 * UNIT * (y1_ms - 6 * month_ms) // (36 * month_ms)
    for amount in (1_050_000, 630_000, 630_000, 420_000):
        expected += amount * UNIT * (y1_ms - 3 * month_ms) // (30 * month_ms)
    expected += 3_540_000 * UNIT * y1_ms // (48 * month_ms)
    expected += 1_680_000 * UNIT * (y1_ms - 12 * month_ms) // (48 * month_ms)
    assert years[0].projected == expected
    assert [y.published_percent for y in years] == [22, 40, 55, 67, 77, 100]
    assert all(y.projected_bps < 100 * y.published_percent for y in years)


def test_schedule_json(capsys):
    code, out, _ = run(capsys, "genesis", "schedule", "btt-21m", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["id"] == "btt-21m" and "excluded" in doc["note"]
    last = doc["years"][-1]
    assert last == {
        "year": 6,
        "label": "2032+",
        "published_label": "2030+",
        "until_seconds": 6 * 31_536_000,
        "projected": str(10_470_000 * UNIT),
        "projected_percent": "49.85",
        "published_percent": 100,
        "gap_percent": "-50.15",
    }


def test_schedule_table(capsys):
    code, out, _ = run(capsys, "genesis", "schedule", "btt-210m")
    assert code == 0
    lines = out.splitlines()
    assert "years count from launch" in lines[1] and "gap (points)" in lines[2]
    assert lines[-1].startswith("projection:") and "rows 8-10 and 12" in lines[-1]
    assert len(lines) == 3 + 6 + 1
    # 210M less the module rows (63M + 25.2M + 14.7M), the reserve (2.1M) and the 1M genesis burn
    assert parse_btt(lines[-2].split()[2]) == 104_000_000 * UNIT


def test_a_fast_dev_clock_labels_years_by_number(capsys):
    years = project_release(load_chain_spec("dev"))
    assert years[0].label == "year 1" and years[-1].label == "year 6+" and years[0].published_label == "2025"


def test_schedule_unknown_spec_is_one_error_line(capsys):
    code, _, err = run(capsys, "genesis", "schedule", "no-such-preset")
    assert code != 0 and err.startswith("error: ") and "Traceback" not in err


def test_format_bps():
    assert [format_bps(b) for b in (0, 5, 2250, -75, -1015)] == ["0.00", "0.05", "22.50", "-0.75", "-10.15"]
