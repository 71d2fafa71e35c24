"""The parity report prints each row as its case finishes (not the whole table at the end),
then the failures and the summary.  The cases and checks here are stand-ins that compare
nothing with Keras: only the import of the report brings TensorFlow in."""

import numpy as np
import pytest

pytestmark = pytest.mark.keras

report = pytest.importorskip("parity.report")
from parity.components import Check  # noqa: E402
from parity.harness import Result  # noqa: E402


def test_rows_stream_as_their_cases_finish(capsys, monkeypatch):
    cases = [c for c in report.named_cases() if c.name.startswith("simplernn-defaults")]
    assert len(cases) == 2
    seen_before = {}

    def fake_run(case):
        seen_before[case.name] = capsys.readouterr().out      # what was printed so far
        return Result(case, {"out": 1e-16 if case.dtype == "float64" else 1e-7})

    def check_run(name):
        def run(cmp):
            seen_before[name] = capsys.readouterr().out
            cmp.add("out", np.zeros(2), np.zeros(2))
        return run

    checks = [Check(f"fake-check-{k}", "layer", "float64", check_run(f"fake-check-{k}"),
                    options="stand-in") for k in range(2)]
    monkeypatch.setattr(report, "named_cases", lambda backend=None: cases)
    monkeypatch.setattr(report, "safe_run", fake_run)
    monkeypatch.setattr(report, "select_checks", lambda args: checks)
    assert report.main([]) == 0
    rest = capsys.readouterr().out

    first, second = (seen_before[c.name] for c in cases)
    assert "2 recurrent cases then 2 other checks" in first
    assert first.rstrip().splitlines()[-1].startswith("case ")          # the header, first
    assert cases[0].name in second and "PASS" in second                # row 1 before case 2
    assert "simplernn-defaults-f32" in seen_before["fake-check-0"]
    assert "fake-check-0" in seen_before["fake-check-1"]
    assert "fake-check-1" in rest and "4/4 passed" in rest


def test_streamed_rows_keep_the_table_aligned():
    """Widths come from the cases before they run; every row's verdict sits under the
    header's "result", whatever its numbers."""
    cases = report.named_cases()[:3]
    errors = [{"out": 1.5e-16}, {"out": 2e-3, "dx": 0.0}, {}]
    results = [Result(c, e) for c, e in zip(cases, errors)]
    lines = report.format_table(results)
    column = lines[0].index("result")
    assert [line[column:column + 4] for line in lines[1:]] == ["PASS", "FAIL", "PASS"]
    widths = report.case_widths(cases)
    assert report.format_line(report.case_cells(results[0]), widths) == lines[1]
