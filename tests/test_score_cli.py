"""`cdr-detector score INPUT.csv` and the `SeriesScorer` Python API behind it."""

from __future__ import annotations

import csv
import io
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.errors import ConfigError
from detector.models.series import SeriesScorer
from detector.scorefile import score_csv

runner = CliRunner()
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def seasonal(n: int, seed: int = 1, spike_at: int | None = None) -> list[tuple[str, float]]:
    """A daily sine plus noise every 10 minutes (ISO timestamps), optionally one spike."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        value = 50 + 20 * math.sin(2 * math.pi * i / 144) + rng.gauss(0, 2)
        if i == spike_at:
            value += 40
        rows.append(((T0 + timedelta(minutes=10 * i)).isoformat(), round(value, 2)))
    return rows


def csv_text(rows: list[tuple[str, ...]] | list[tuple[str, float]], header: str) -> str:
    """A CSV body with `header` and `rows`."""
    return header + "\n" + "".join(",".join(str(c) for c in row) + "\n" for row in rows)


def scored(text: str) -> list[dict[str, str]]:
    """Run `score_csv` over `text`; the output rows."""
    out = io.StringIO()
    score_csv(io.StringIO(text), out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_a_spike_in_a_seasonal_series_scores_highest(tmp_path: Path) -> None:
    """On a week of a daily cycle the injected spike is the top score, near 1, and ordinary
    points after the first day stay low."""
    rows = seasonal(1008, spike_at=900)
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(csv_text(rows, "timestamp,value"))
    result = runner.invoke(app, ["score", str(source), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "scored 1,008 rows of 1 series" in result.output
    out = list(csv.DictReader(target.open()))
    assert list(out[0]) == ["timestamp", "value", "anomaly_score"]
    scores = [float(r["anomaly_score"]) for r in out]
    assert all(0.0 <= s < 1.0 for s in scores)
    assert max(range(len(scores)), key=scores.__getitem__) == 900
    assert scores[900] > 0.99
    ordinary = sorted(scores[144:900])
    assert ordinary[len(ordinary) // 2] < 0.2
    assert [r["timestamp"] for r in out] == [r[0] for r in rows]


def test_scores_never_look_ahead() -> None:
    """Shuffling the rows after row 500 leaves the first 500 scores unchanged."""
    rows = seasonal(800)
    later = rows[500:]
    random.Random(7).shuffle(later)
    first = scored(csv_text(rows, "timestamp,value"))
    second = scored(csv_text(rows[:500] + later, "timestamp,value"))
    assert [r["anomaly_score"] for r in first[:500]] == [r["anomaly_score"] for r in second[:500]]
    assert first[500:] != second[500:]


def test_keyed_series_are_scored_apart() -> None:
    """With a key column each series has its own normal: one key's level is not another's
    anomaly, and the output keeps the key."""
    rows = [(t, "low", v) for t, v in seasonal(300, seed=2)]
    rows += [(t, "high", v * 100) for t, v in seasonal(300, seed=3)]
    rows.sort()
    out = scored(csv_text(rows, "timestamp,key,value"))
    assert list(out[0]) == ["timestamp", "key", "value", "anomaly_score"]
    late = [float(r["anomaly_score"]) for r in out[200:]]
    assert sorted(late)[len(late) // 2] < 0.2
    assert {r["key"] for r in out} == {"low", "high"}


def test_counts_are_judged_with_count_statistics() -> None:
    """For a series of small counts, 12 where about 1 is usual is an anomaly and 3 is not."""
    scorer = SeriesScorer()
    rng = random.Random(4)
    for i in range(300):
        value = float(rng.choice([0, 1, 1, 2]))
        scorer.learn_one(value, T0 + timedelta(hours=i))
    at = T0 + timedelta(hours=300)
    assert scorer.score_one(3, at) < 0.5
    assert scorer.score_one(12, at) > 0.9


def test_a_constant_stretch_does_not_make_a_small_change_extreme() -> None:
    """After 200 identical values, a change of 0.5 % of the level is not an anomaly (the
    deviation has a floor), while a change of 50 % is."""
    scorer = SeriesScorer()
    for _ in range(200):
        scorer.learn_one(100.25)
    assert scorer.score_one(100.75) < 0.3
    assert scorer.score_one(150.25) > 0.95


def test_a_repeated_anomaly_stays_anomalous() -> None:
    """A spike learned with a tenth of the weight does not make the same spike ordinary."""
    scorer = SeriesScorer()
    for i in range(200):
        scorer.learn_one(10.0 + (i % 3))
    first = scorer.score_one(60.0)
    scorer.learn_one(60.0)
    assert scorer.score_one(60.0) > 0.9
    assert first > 0.9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,value\n2024-01-01,1\n", "header `timestamp,value` or `timestamp,key,value`"),
        ("timestamp,value\n2024-01-01T00:00:00,abc\n", "line 2: value 'abc' is not a number"),
        ("timestamp,value\nyesterday,1\n", "line 2: timestamp 'yesterday' is not ISO 8601"),
        ("timestamp,value\n2024-01-01,1,2\n", "line 2: 3 fields where the header has 2"),
        ("timestamp,value\n2024-01-01,nan\n", "line 2: value 'nan' is not a finite number"),
    ],
)
def test_bad_input_names_the_line_and_the_problem(text: str, message: str) -> None:
    """Each malformed input is refused with its line and what is wrong."""
    with pytest.raises(ConfigError, match=message):
        scored(text)


def test_rows_before_a_bad_one_are_written(tmp_path: Path) -> None:
    """A bad row stops the run with exit code 2; the rows above it are in the output."""
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("timestamp,value\n2024-01-01T00:00:00Z,1\n1704070800,2\nx,3\n")
    result = runner.invoke(app, ["score", str(source), "--out", str(target)])
    assert result.exit_code == 2
    assert "line 4" in result.output
    assert len(target.read_text().splitlines()) == 3


def test_missing_input_and_bad_options_are_clear_errors(tmp_path: Path) -> None:
    """A missing file, an unknown timezone and a window under one row are refused."""
    missing = runner.invoke(app, ["score", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "nope.csv" in missing.output
    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n")
    zone = runner.invoke(app, ["score", str(source), "--timezone", "Mars/Olympus"])
    assert zone.exit_code == 2
    assert "IANA" in zone.output
    window = runner.invoke(app, ["score", str(source), "--window", "0"])
    assert window.exit_code == 2
    assert "--window" in window.output
