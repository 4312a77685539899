"""Your own simulator scenario from a YAML file, and what a bad one says."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.tws.simulator.scenario import available_scenarios, load_scenario


def test_bundled_scenarios_include_a_quiet_day() -> None:
    assert {"normal", "month-end", "agent-down", "flaky", "quiet"} <= set(available_scenarios())
    assert load_scenario("quiet").streams == 0


def test_a_scenario_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("streams: 3\ndeadlines: false\nempty_streams: [ETL_*]\n", encoding="utf-8")
    scenario = load_scenario(str(path))
    assert scenario.name == "mine"
    assert scenario.streams == 3
    assert not scenario.deadlines
    assert scenario.is_empty("ETL_SALES")
    assert not scenario.is_empty("PAYROLL_DAILY")


@pytest.mark.parametrize(
    ("text", "error"), [("- a list\n", "expected a mapping"), ("streams: [\n", "cannot read")]
)
def test_a_bad_scenario_file_says_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_scenario(str(path))


def test_a_missing_scenario_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read scenario file"):
        load_scenario(str(tmp_path / "nope.yaml"))
