"""Runbooks: a validated catalog of approved TWS actions, run only after an approval.

Modules, by what they own:

- the definition: `spec` (the pydantic models), `validation` (files checked with file and
  line), `catalog` (the runbooks by id, `load_catalog`), `policy` (approval groups, who may
  approve), `params` (the one ``/tws run`` parser and live-plan resolution);
- intake: `intake` (request validation, storing, cards), `cards` (the `Reply` cards);
- approvals: `approvals` (the pure rules: decision transition, expiry, binding),
  `deciding` (clicks: signature, eligibility, apply once, answer), `decisions` (the neutral
  `Decision`), `signing` (HMAC-signed button values), `planstate` (the plan fingerprint an
  approval is bound to), `dryrun`;
- running: `driver` (drives the LangGraph flow inline or in the background, recovery),
  `flow` (the graph), `nodes` (its node bodies), `executor` (exactly-once steps),
  `readsteps` (wait, check, diagnose), `reconcile` (what the plan shows after a restart),
  `actions` (`RunbookActions`), `journal` (records, leases, fencing tokens and the step
  journal in the `Store`), `targets` (one open execution per job or job stream);
- `audit` (every audit record, and the rule that a plan change needs one first), `ports`
  (the progress sink), `service` (`RunbookService`, the facade the bot wires).

Errors::

    RunbookError
    ├── AuditWriteError        the audit log refused a plan change's record: the change is not made
    ├── CatalogError           a runbook file is broken (each problem names file and line)
    ├── ParameterError         request parameters do not resolve against the live plan
    ├── UnsupportedActionError the engine connection cannot perform a step's action yet
    ├── FencedOutError         another executor took over this request (stale fencing token)
    └── GroupLookupError       a group reference of the policy (Slack user group) did not resolve
"""

from __future__ import annotations

__all__: list[str] = []
