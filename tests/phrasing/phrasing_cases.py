"""The phrasing set's cases: one YAML file per question class under `cases/`.

A file holds ``class`` (the question kind), an optional default ``scenario`` and ``cases``;
each case has ``id``, ``scenario`` (``normal``, ``month-end`` or ``agent-down``), ``ask``
(one question, or a list of turns of one conversation: the expectations apply to the last
answer) and ``expect`` (queries of `phrasing_scoring.CHECKS`, evaluated against the
simulator at run time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
SCENARIOS = ("normal", "month-end", "agent-down")


@dataclass(frozen=True)
class Case:
    """One question (or short conversation) and what a correct answer must contain."""

    id: str
    kind: str
    scenario: str
    turns: tuple[str, ...]
    expect: dict[str, Any]

    @property
    def question(self) -> str:
        """The conversation as one line, for failure lists."""
        return " / ".join(self.turns)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every YAML file in ``directory``, in file then listing order."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        kind = data["class"]
        for raw in data["cases"]:
            ask = raw["ask"]
            cases.append(
                Case(
                    id=str(raw["id"]),
                    kind=kind,
                    scenario=raw.get("scenario", data.get("scenario", "normal")),
                    turns=tuple([ask] if isinstance(ask, str) else ask),
                    expect=dict(raw["expect"]),
                )
            )
    return cases
