"""Prometheus metrics of one Resync process (served at ``GET /metrics`` by `bot.server`).

Every family is defined here, once, so names and labels stay consistent and reviewable in
one place. Conventions (https://prometheus.io/docs/practices/naming/): ``resync_`` prefix,
counters end in ``_total``, durations are ``_seconds``; labels have bounded cardinality —
a kind, an outcome, a platform, an HTTP method — never a job name, a person or an id.

The families live in their own `REGISTRY` (not the library's global one) so tests and
embedded use see only Resync's metrics, plus the process collector (CPU, memory, fds).

Where each family is fed:

- questions, answer latency, admission: the conversation core (`bot.core`) and the agent
  graph (`agents.graph`: the kind of question);
- engine requests, their latency, breaker state: `integrations.tws.transport`;
- audit appends and failures, and the runbook / incident / alert action families:
  `integrations.audit.log` after each append — every action is audited (house rule), so
  counting at the audit write makes the metrics agree with the audit trail by construction;
- store errors: `integrations.store.redis_store`;
- SIEM backlog: `integrations.audit.forward` (set when `resync serve` starts forwarding);
- work in flight: `bot.core.tasks.TaskSupervisor`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector

__all__ = [
    "ADMISSION_REJECTED",
    "ANSWER_SECONDS",
    "AUDIT_APPENDS",
    "AUDIT_FORWARD_BACKLOG",
    "BREAKER_STATE",
    "CHAT_EVENTS",
    "CLICKS",
    "CONTENT_TYPE",
    "ENGINE_REQUESTS",
    "ENGINE_REQUEST_SECONDS",
    "QUESTIONS",
    "REGISTRY",
    "STORE_ERRORS",
    "TASKS_IN_FLIGHT",
    "exposition",
    "observe_audit_action",
    "set_breaker_state",
    "watch_backlogs",
]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

# Answers take from a few ms (a cached list) to a minute (the time limit).
_ANSWER_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_ENGINE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

QUESTIONS: Final = Counter(
    "resync_questions",
    "Questions answered by the agent graph, by kind of question and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
ANSWER_SECONDS: Final = Histogram(
    "resync_answer_seconds",
    "Time from a question reaching the dispatcher to its answer, by platform and outcome.",
    ["platform", "outcome"],
    buckets=_ANSWER_BUCKETS,
    registry=REGISTRY,
)
CLICKS: Final = Counter(
    "resync_clicks",
    "Button clicks decided by the dispatcher, by handler (action-id prefix) and outcome.",
    ["handler", "outcome"],
    registry=REGISTRY,
)
CHAT_EVENTS: Final = Counter(
    "resync_chat_events",
    "Deliveries from chat platforms (messages and clicks), by platform and kind.",
    ["platform", "kind"],
    registry=REGISTRY,
)
ADMISSION_REJECTED: Final = Counter(
    "resync_admission_rejected",
    "Deliveries not worked on: duplicates (platform retries) and rate-limited requests.",
    ["platform", "reason"],
    registry=REGISTRY,
)
TASKS_IN_FLIGHT: Final = Gauge(
    "resync_tasks_in_flight",
    "Background work running now (answers, clicks, runbook runs).",
    registry=REGISTRY,
)
ENGINE_REQUESTS: Final = Counter(
    "resync_engine_requests",
    "HTTP requests to the TWS engine, by method and outcome "
    "(ok, client_error, unavailable, protocol_error, circuit_open).",
    ["method", "outcome"],
    registry=REGISTRY,
)
ENGINE_REQUEST_SECONDS: Final = Histogram(
    "resync_engine_request_seconds",
    "Latency of one HTTP request to the TWS engine (each retry counts alone).",
    ["method"],
    buckets=_ENGINE_BUCKETS,
    registry=REGISTRY,
)
BREAKER_STATE: Final = Gauge(
    "resync_engine_breaker_state",
    "The engine circuit breaker: 0 closed, 1 half-open, 2 open.",
    registry=REGISTRY,
)
AUDIT_APPENDS: Final = Counter(
    "resync_audit_appends",
    "Audit records appended (ok) or that could not be written (failed).",
    ["outcome"],
    registry=REGISTRY,
)
STORE_ERRORS: Final = Counter(
    "resync_store_errors",
    "Shared-store (Redis) operations that failed, by operation.",
    ["operation"],
    registry=REGISTRY,
)
RUNBOOK_EVENTS: Final = Counter(
    "resync_runbook_events",
    "Runbook requests, approvals, executions and their steps, by action and outcome "
    "(counted from the audit records).",
    ["action", "outcome"],
    registry=REGISTRY,
)
INCIDENT_EVENTS: Final = Counter(
    "resync_incident_events",
    "Incident declarations, changes, pages and reminders, by action and outcome "
    "(counted from the audit records).",
    ["action", "outcome"],
    registry=REGISTRY,
)
ALERT_EVENTS: Final = Counter(
    "resync_alert_events",
    "Alerts posted, updated, closed, acknowledged and snoozed, by action and outcome "
    "(counted from the audit records).",
    ["action", "outcome"],
    registry=REGISTRY,
)

AUDIT_FORWARD_BACKLOG: Final = Gauge(
    "resync_audit_forward_backlog",
    "Audit records written but not yet acknowledged by a SIEM destination.",
    ["destination"],
    registry=REGISTRY,
)

_BREAKER_CODES: Final = {"closed": 0, "half-open": 1, "half_open": 1, "open": 2}
_ACTION_FAMILIES: Final = (
    ("runbook.", RUNBOOK_EVENTS),
    ("incident.", INCIDENT_EVENTS),
    ("alert.", ALERT_EVENTS),
    ("watch.", ALERT_EVENTS),
)
# Outcomes are words from code, but a caller could pass something free-form: keep the
# label bounded by cutting it to a short token.
_MAX_LABEL: Final = 40


def _label(value: str) -> str:
    return value[:_MAX_LABEL] or "-"


def observe_audit_action(action: str, outcome: str) -> None:
    """Count one audited action in the family of its area (runbook, incident, alert).

    Args:
        action: The audit action, e.g. ``runbook.decision`` or ``incident.declare``.
        outcome: Its outcome, e.g. ``approved``.
    """
    for prefix, family in _ACTION_FAMILIES:
        if action.startswith(prefix):
            family.labels(action=_label(action[len(prefix) :]), outcome=_label(outcome)).inc()
            return


def set_breaker_state(state: str) -> None:
    """Publish the engine circuit breaker's state (``closed``, ``half-open``, ``open``)."""
    BREAKER_STATE.set(_BREAKER_CODES.get(state, 2))


def watch_backlogs(backlogs: Mapping[str, Callable[[], int]]) -> None:
    """Export each SIEM destination's backlog, read when scraped.

    Args:
        backlogs: Destination name (``hec``, ``syslog``) → a function giving its backlog.
    """
    for destination, backlog in backlogs.items():
        AUDIT_FORWARD_BACKLOG.labels(destination=destination).set_function(backlog)


def exposition() -> bytes:
    """The whole registry in the Prometheus text format (what ``GET /metrics`` serves)."""
    return generate_latest(REGISTRY)
