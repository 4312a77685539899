"""The phrasing set's numbers: accuracy per class, as-of/source rate, invented names, latency."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from phrasing_runner import Result

TARGET_ACCURACY = 0.98


@dataclass(frozen=True)
class Summary:
    """The set's headline numbers."""

    total: int
    correct: int
    facts: int
    facts_with_as_of_and_source: int
    invented: int

    @property
    def accuracy(self) -> float:
        """Correct answers over all cases."""
        return self.correct / self.total if self.total else 0.0

    @property
    def as_of_rate(self) -> float:
        """Fact-stating answers with both "as of" and a source, over all fact-stating ones."""
        return self.facts_with_as_of_and_source / self.facts if self.facts else 1.0

    @property
    def met(self) -> bool:
        """Whether the issue's targets hold."""
        return self.accuracy >= TARGET_ACCURACY and self.as_of_rate == 1.0 and not self.invented


def summarize(results: list[Result]) -> Summary:
    """Count what the targets are about."""
    facts = [r for r in results if r.states_facts]
    return Summary(
        total=len(results),
        correct=sum(r.correct for r in results),
        facts=len(facts),
        facts_with_as_of_and_source=sum(
            not any(reason.startswith(("no 'as of", "no source")) for reason in r.reasons)
            for r in facts
        ),
        invented=sum(
            reason.count(",") + 1
            for r in results
            for reason in r.reasons
            if reason.startswith("invented names")
        ),
    )


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def format_report(results: list[Result], *, show_answers: bool = False) -> tuple[str, bool]:
    """The printed report and whether the targets are met."""
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_kind[result.case.kind].append(result)
    lines = [
        f"{'class':<28} {'cases':>5} {'correct':>8} {'accuracy':>9} {'p50 ms':>8} {'p95 ms':>8}"
    ]
    for kind, group in sorted(by_kind.items()):
        latencies = [ms for r in group for ms in r.latencies_ms]
        right = sum(r.correct for r in group)
        lines.append(
            f"{kind:<28} {len(group):>5} {right:>8} {right / len(group):>8.1%} "
            f"{percentile(latencies, 0.5):>8.1f} {percentile(latencies, 0.95):>8.1f}"
        )
    summary = summarize(results)
    everything = [ms for r in results for ms in r.latencies_ms]
    lines += [
        f"{'overall':<28} {summary.total:>5} {summary.correct:>8} {summary.accuracy:>8.1%} "
        f"{percentile(everything, 0.5):>8.1f} {percentile(everything, 0.95):>8.1f}",
        f"as of + source on fact-stating answers: {summary.facts_with_as_of_and_source}"
        f"/{summary.facts} ({summary.as_of_rate:.1%})",
        f"invented names: {summary.invented}",
        f"targets (>= {TARGET_ACCURACY:.0%}, 100% as of + source, 0 invented): "
        + ("MET" if summary.met else "NOT MET"),
    ]
    by_scenario: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_scenario[result.case.scenario].append(result)
    lines.append(
        "by scenario: "
        + ", ".join(
            f"{name} {sum(r.correct for r in group)}/{len(group)}"
            for name, group in sorted(by_scenario.items())
        )
    )
    failures = [r for r in results if not r.correct]
    if failures:
        lines.append(f"\nfailures ({len(failures)}):")
    for result in failures:
        lines.append(f"  {result.case.id} [{result.case.scenario}] {result.case.question!r}")
        lines.append(f"      why: {'; '.join(result.reasons)}")
        if show_answers:
            answer = result.answers[-1].replace("\n", "\n        | ")
            lines.append(f"        | {answer}")
    return "\n".join(lines), summary.met
