"""CSV and TensorBoard loggers."""

import csv

from detente.lib.metrics_logger import CsvLogger, make_run_logger


def test_csv_logger_extends_header_and_appends(tmp_path):
    logger = CsvLogger(tmp_path)
    logger.write(1, {"loss": 0.5})
    logger.write(2, {"loss": 0.25, "nash_conv": 0.1})
    resumed = CsvLogger(tmp_path)  # a resumed run appends
    resumed.write(3, {"loss": 0.125})
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["step"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["nash_conv"] == "" and float(rows[1]["nash_conv"]) == 0.1
    assert float(rows[2]["loss"]) == 0.125


def test_run_logger_writes_event_file(tmp_path):
    logger = make_run_logger(tmp_path)
    logger.write(1, {"loss": 1.0, "nan_metric": float("nan")})
    logger.close()
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert (tmp_path / "metrics.csv").exists()
