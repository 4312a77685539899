"""Shift handover: what the next shift must know, asked in chat or posted at shift change.

`HandoverDesk.collect` gathers a `Handover` (failures and their state now, runbook runs,
open incidents, deadlines missed and at risk, workstations down, pending approvals);
`handover_reply` turns it into the one reply every surface shows.
"""

from agents.handover.desk import HandoverDesk, OpenIncidents
from agents.handover.model import Handover
from agents.handover.render import SECTION_ROWS, handover_reply
from agents.handover.requests import AuditReader, RequestBook

__all__ = [
    "SECTION_ROWS",
    "AuditReader",
    "Handover",
    "HandoverDesk",
    "OpenIncidents",
    "RequestBook",
    "handover_reply",
]
