"""Forwarding the audit log to a SIEM: Splunk HEC (JSON) and syslog (RFC 5424, CEF).

At-least-once, in sequence order, one persisted cursor per destination; a slow or down
destination only grows the backlog. See docs/audit.md, "SIEM forwarding".

Parts: `cursor` (the persisted position), `source` (decrypted records after it),
`events` (HEC and syslog/CEF formats, secret redaction), `sinks` (delivery),
`forwarder` (the loop: batches, retries, backoff), `leader` (one forwarding replica at a
time: a lease in the shared store), `runner` (from the settings; the ``resync serve`` task).
"""

from integrations.audit.forward.cursor import Cursor, CursorFile
from integrations.audit.forward.forwarder import Forwarder, ForwardResult
from integrations.audit.forward.leader import (
    LEASE_KEY,
    LEASE_SECONDS,
    ForwardingLease,
    forward_while_leader,
)
from integrations.audit.forward.runner import (
    build_forwarders,
    build_sinks,
    forward,
    open_source,
    run_forwarder,
    siem_settings,
)
from integrations.audit.forward.sinks import DeliveryError, HecSink, Sink, SyslogSink
from integrations.audit.forward.source import AuditSource

__all__ = [
    "LEASE_KEY",
    "LEASE_SECONDS",
    "AuditSource",
    "Cursor",
    "CursorFile",
    "DeliveryError",
    "ForwardResult",
    "Forwarder",
    "ForwardingLease",
    "HecSink",
    "Sink",
    "SyslogSink",
    "build_forwarders",
    "build_sinks",
    "forward",
    "forward_while_leader",
    "open_source",
    "run_forwarder",
    "siem_settings",
]
