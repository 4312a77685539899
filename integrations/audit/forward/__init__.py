"""Forwarding the audit log to a SIEM: Splunk HEC (JSON) and syslog (RFC 5424, CEF).

At-least-once, in sequence order, one persisted cursor per destination; a slow or down
destination only grows the backlog. See docs/audit.md, "SIEM forwarding".

Parts: `cursor` (the persisted position), `source` (decrypted records after it),
`events` (HEC and syslog/CEF formats, secret redaction), `sinks` (delivery),
`forwarder` (the loop: batches, retries, backoff), `runner` (from the settings; the
``resync serve`` task).
"""

from integrations.audit.forward.cursor import Cursor, CursorFile
from integrations.audit.forward.forwarder import Forwarder, ForwardResult
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
    "AuditSource",
    "Cursor",
    "CursorFile",
    "DeliveryError",
    "ForwardResult",
    "Forwarder",
    "HecSink",
    "Sink",
    "SyslogSink",
    "build_forwarders",
    "build_sinks",
    "forward",
    "open_source",
    "run_forwarder",
    "siem_settings",
]
