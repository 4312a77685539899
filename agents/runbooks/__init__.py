"""Runbooks: a validated catalog of approved TWS actions, run only after an approval.

Modules: `catalog` (YAML catalog + validation with file and line), `params` (``/tws run``
parsing and live-plan resolution), `policy` (approval groups and eligibility), `decisions`
(the neutral `Decision`), `signing` (HMAC-signed button values), `planstate` (the plan
fingerprint an approval is bound to), `journal` (request records, leases, fencing tokens and
the per-request step journal in the `Store`), `actions` (`RunbookActions`), `executor`
(exactly-once step execution), `cards` (the `Reply` cards), `flow` (the LangGraph approval
graph), `service` (`RunbookService`, what the bot wires).

Errors::

    RunbookError
    ├── CatalogError           a runbook file is broken (each problem names file and line)
    ├── ParameterError         request parameters do not resolve against the live plan
    ├── UnsupportedActionError the engine connection cannot perform a step's action yet
    ├── FencedOutError         another executor took over this request (stale fencing token)
    └── GroupLookupError       a group reference of the policy (Slack user group) did not resolve
"""

from __future__ import annotations

__all__: list[str] = []
