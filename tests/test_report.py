"""The report's pure parts on small inline frames (no Spark): transforms, labels parsing, the
precision interval, the stage timer, and Splink's dashboards made offline."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from accelerator.report import charts, review
from accelerator.report import transform as tf
from accelerator.report.labels import LabelsError, parse_labels
from accelerator.report.run_log import StageTimer


def _deliveries(rows: list[tuple[str, str, str, str, int, int, int]]) -> pd.DataFrame:
    cols = ["authority", "feed", "folder", "status", "rows_in_files", "rows_loaded", "rows_quarantined"]
    df = pd.DataFrame(rows, columns=cols)
    return df.assign(
        reason=["" if s == "LOADED" else f"why {f}" for f, s in zip(df.folder, df.status, strict=True)]
    )


DELIVERIES = _deliveries(
    [
        ("bury", "housing", "2026-01-31", "LOADED", 10, 9, 1),
        ("bury", "housing", "2026-02-28", "REJECTED", 0, 0, 0),
        ("bury", "probation", "2026-01-31", "LOADED", 5, 5, 0),
        ("bolton", "housing", "2026-01-31", "DUPLICATE", 0, 0, 0),
    ]
)


def test_delivery_grid_takes_the_worst_status_and_counts_each():
    got = tf.delivery_grid(DELIVERIES)
    want = pd.DataFrame(
        [
            ("bolton", "housing", "DUPLICATE", 1, "1 DUPLICATE"),
            ("bury", "housing", "REJECTED", 2, "1 REJECTED, 1 LOADED"),
            ("bury", "probation", "LOADED", 1, "1 LOADED"),
        ],
        columns=["authority", "feed", "status", "deliveries", "label"],
    )
    assert_frame_equal(got, want)


def test_not_loaded_lists_every_other_delivery_with_its_reason():
    got = tf.not_loaded(DELIVERIES)
    assert got[["feed", "folder", "status", "reason"]].values.tolist() == [
        ["housing", "2026-01-31", "DUPLICATE", "why 2026-01-31"],
        ["housing", "2026-02-28", "REJECTED", "why 2026-02-28"],
    ]


def test_rows_by_authority_counts_loaded_deliveries_only():
    got = tf.rows_by_authority(DELIVERIES)
    want = pd.DataFrame(
        [("bury", 2, 15, 14, 1)],
        columns=["authority", "deliveries", "rows_in_files", "rows_loaded", "rows_quarantined"],
    )
    assert_frame_equal(got, want)


def _dq(rows: list[tuple[str, str, str, str | None, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["delivery_id", "extract_date", "metric", "column", "count"])
    return df.assign(run_id="r1", authority="bury", feed="health_services", rate=None)


def test_scorecard_rates_over_the_deliveries():
    dq = _dq(
        [
            ("d1", "2026-01-31", "rows", None, 90),
            ("d1", "2026-01-31", "rows_quarantined", None, 10),
            ("d1", "2026-01-31", "invalid_nhs_number", None, 9),
            ("d1", "2026-01-31", "null", "referral_id", 0),
            ("d1", "2026-01-31", "null", "nhs_number", 30),  # not a key column of health_services
            ("d1", "2026-01-31", "date_format", "DD/MM/YYYY", 90),
            ("d1", "2026-01-31", "encoding", "utf-8", 1),
            ("d2", "2026-02-28", "rows", None, 10),
            ("d2", "2026-02-28", "null", "referral_id", 5),
            ("d2", "2026-02-28", "date_format", "YYYY-MM-DD", 10),
            ("d2", "2026-02-28", "encoding", "cp1252", 1),
        ]
    )
    got = tf.scorecard(dq).iloc[0].to_dict()
    assert got == {
        "authority": "bury",
        "feed": "health_services",
        "deliveries": 2,
        "rows": 100,
        "quarantined_rate": 10 / 110,
        "invalid_identifier_rate": 9 / 100,
        "key_null_rate": 5 / 100,
        "date_formats": "DD/MM/YYYY, YYYY-MM-DD",
        "encodings": "cp1252, utf-8",
    }


def test_wilson_interval_matches_a_hand_worked_value():
    # 8 of 10: the Wilson 95% interval is 0.4902 to 0.9433 (textbook value)
    lo, hi = tf.wilson(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)


def test_precision_counts_reviewed_pairs_over_the_threshold_only():
    labels = pd.DataFrame(
        {
            "clerical_match_score": [1, 1, 0, 0, 1],
            "match_weight": [7.0, 6.0, 6.5, 5.9, 2.0],
            "authority": "bury",
        }
    )
    p = tf.precision(labels, 6.0)
    assert (p.reviewed, p.linked, p.correct) == (5, 3, 2)
    assert p.estimate == pytest.approx(2 / 3)
    assert (p.low, p.high) == pytest.approx(tf.wilson(2, 3))


def test_gold_trend_keeps_the_last_run_of_each_as_of_and_adds_current_gold():
    log = pd.DataFrame(
        [
            ("r1", date(2026, 1, 31), "gold", "bury", "families", 10.0),
            ("r1", date(2026, 1, 31), "gold", "bury", "eligible", 2.0),
            ("r2", date(2026, 1, 31), "gold", "bury", "families", 10.0),
            ("r2", date(2026, 1, 31), "gold", "bury", "eligible", 5.0),
            ("r2", date(2026, 1, 31), "stage", "", "gold", 3.0),
        ],
        columns=["run_id", "as_of", "section", "authority", "item", "value"],
    )
    gold = pd.DataFrame(
        [("bury", date(2026, 2, 28), 20, 4)], columns=["authority", "as_of", "families", "eligible"]
    )
    got = tf.gold_trend(log, gold)
    assert got.values.tolist() == [
        ["bury", pd.Timestamp("2026-01-31"), "eligible", 0.5],
        ["bury", pd.Timestamp("2026-02-28"), "eligible", 0.2],
    ]


def test_stage_timer_measures_with_the_given_clock():
    ticks = iter([0.0, 2.5, 3.0, 10.0])
    timer = StageTimer(lambda: next(ticks))
    for stage in ("bronze", "silver", "gold"):
        timer.start(stage)
    assert timer.finish() == {"bronze": 2.5, "silver": 0.5, "gold": 7.0}
    assert StageTimer().finish() == {}  # no clock, nothing measured


def test_parse_labels_keeps_good_rows():
    text = (
        "unique_id_l,unique_id_r,clerical_match_score,match_weight\n"
        "bury|a|1,bury|b|2,1,6.1\n"
        "bury|a|1,bury|c|3,0,\n"
    )
    got = parse_labels(text, "bury")
    assert got.values.tolist() == [["bury|a|1", "bury|b|2", 1.0], ["bury|a|1", "bury|c|3", 0.0]]


def test_parse_labels_refuses_the_whole_file_listing_every_problem():
    text = (
        "unique_id_l,unique_id_r,clerical_match_score\n"
        "bury|a|1,bolton|b|2,1\n"  # another authority's record
        "bury|a|1,bury|b|2,yes\n"
        "bury|a|1,bury|b|2,1.5\n"
        "bury|a|1,bury|c|3,1\n"
        "bury|c|3,bury|a|1,0\n"  # the same pair again, the other way round
    )
    with pytest.raises(LabelsError) as e:
        parse_labels(text, "bury")
    assert e.value.problems == [
        "line 2: both records must be held by bury",
        "line 3: clerical_match_score 'yes' is not a number",
        "line 4: clerical_match_score 1.5 is outside [0, 1]",
        "line 6: the same pair as line 5",
    ]


def test_parse_labels_needs_the_header():
    with pytest.raises(LabelsError, match="line 1: expected the header"):
        parse_labels("a,b,c\nbury|a|1,bury|b|2,1\n", "bury")


def test_nearest_pairs_are_the_authoritys_own_closest_to_the_threshold():
    links = pd.DataFrame(
        {
            "unique_id_l": ["bury|a|1", "bury|a|2", "bury|a|3", "bolton|a|1", "bury|a|5"],
            "unique_id_r": ["bury|b|1", "bury|b|2", "bolton|b|3", "bolton|b|1", "bury|b|5"],
            "match_weight": [6.2, 9.0, 6.0, 6.0, 4.0],
        }
    )
    got = review.nearest_pairs(links, "bury", 6.0, 2)
    assert got["unique_id_l"].tolist() == ["bury|a|5", "bury|a|1"]


def test_largest_own_people_by_records_then_id():
    xref = pd.DataFrame(
        {"unique_id": list("abcdefg"), "person_id": ["P2", "P2", "P1", "P1", "P3", "P3", "P4"]}
    )
    got = review.largest_own(xref, 2)
    assert sorted(set(got["cluster_id"])) == ["P1", "P2"]


def test_offline_removes_the_web_font_links_of_splinks_templates():
    from splink.internals.misc import read_resource

    template = read_resource("internals/files/splink_comparison_viewer/template.html")
    assert "fonts.googleapis.com" in template
    cleaned = review.offline(template)
    assert "fonts.googleapis.com" not in cleaned and "fonts.gstatic.com" not in cleaned
    assert "<script>@@{vega}</script>" in cleaned


def test_charts_render_to_svg_with_marks():
    df = pd.DataFrame(
        {"weight": [4, 5, 6, 7], "pairs": [3, 2, 5, 9], "links": ["not linked"] * 2 + ["linked"] * 2}
    )
    svg = charts.to_svg(charts.match_weights(df, 6.0))
    assert svg.startswith("<svg") and svg.count("<path") >= 4
    assert "threshold 6" in svg


def test_narrow_keeps_one_authoritys_rows_and_drops_linkage():
    from accelerator.report.read import ReportData, narrow

    def frame(**cols: list[object]) -> pd.DataFrame:
        return pd.DataFrame(cols)

    data = ReportData(
        run_id="r1",
        authority="",
        runs=["r1"],
        deliveries=DELIVERIES,
        quarantine=frame(
            authority=["bury", "bolton"], feed=["housing"] * 2, reason_code=["X"] * 2, rows=[1, 2]
        ),
        dq=frame(authority=["bolton"], metric=["rows"], count=[3]),
        linkage=frame(section=["summary"], item=["people"], count=[9]),
        linkage_history=frame(section=["summary"]),
        labels=frame(authority=["bury"], clerical_match_score=[1.0], match_weight=[7.0]),
        gold=frame(authority=["bury", "bolton"], families=[4, 5]),
        run_log=frame(
            run_id=["r1"] * 3,
            section=["stage", "gold", "gold"],
            authority=["", "bury", "bolton"],
            item=["x"] * 3,
        ),
    )
    got = narrow(data, "bury")
    assert got.authority == "bury"
    assert set(got.deliveries["authority"]) == {"bury"} and len(got.deliveries) == 3
    assert got.quarantine["rows"].tolist() == [1]
    assert got.dq.empty and got.linkage.empty and got.labels.empty
    assert got.gold["families"].tolist() == [4]
    assert got.run_log["section"].tolist() == ["stage", "gold"]
