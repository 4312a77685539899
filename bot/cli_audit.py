"""``resync audit ...``: verify, show, export, erase, rotate-key, checkpoint, forward.

Exit codes: 0 success; 1 the log does not verify, does not exist, or the store failed; 2 bad
input (bad arguments, missing or wrong keys, an unreadable checkpoint file). No command
creates a log: each refuses when there is none where the settings point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings
    from integrations.audit import AuditLog
    from integrations.audit.records import ReadRecord

# The audit modules (cryptography, database drivers) are imported by the commands that use
# them: building the `resync` parser must stay cheap (`resync --help`).

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, "Settings"], int]


def _err(message: str) -> None:
    print(f"resync audit: {message}", file=sys.stderr)


class _NoLogError(Exception):
    """There is no audit log where the settings point."""


async def _require_log(settings: Settings) -> None:
    """Refuse to go on when no log exists: every command works on an existing log.

    Opening a store creates an empty log, and an empty log verifies, so `verify` on a
    mistyped ``RESYNC_DATA_DIR`` would print OK and leave a new database behind.
    """
    from integrations.audit import make_store
    from integrations.audit.opening import DEFAULT_DB_NAME

    if settings.database_url is None:
        path = settings.data_dir / DEFAULT_DB_NAME
        if not path.is_file():
            where = (
                f"{settings.data_dir} does not exist"
                if not settings.data_dir.exists()
                else f"{settings.data_dir} holds no {DEFAULT_DB_NAME}"
            )
            raise _NoLogError(f"no audit log at {path} ({where}); check RESYNC_DATA_DIR")
        return
    store = make_store(settings)
    try:
        found = await store.exists()
    finally:
        await store.close()
    if not found:
        raise _NoLogError(
            f"no audit log in {store.description} (RESYNC_DATABASE_URL); check the database URL"
        )


def _guard(body: Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]) -> Handler:
    async def checked(args: argparse.Namespace, settings: Settings) -> int:
        await _require_log(settings)
        return await body(args, settings)

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from integrations.audit import AuditError, AuditKeyError

        try:
            return asyncio.run(checked(args, settings))
        except _NoLogError as exc:
            _err(str(exc))
            return 1
        except AuditKeyError as exc:
            _err(str(exc))
            return 2
        except AuditError as exc:
            _err(str(exc))
            return 1
        except BrokenPipeError:
            raise  # the reader went away (`| head`): `bot.cli.main` ends quietly
        except (ValueError, OSError) as exc:
            _err(str(exc))
            return 2

    handler.__doc__ = body.__doc__
    return handler


def _time(text: str) -> int:
    from integrations.audit.records import us_from_datetime

    try:
        return us_from_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2025-03-01 or 2025-03-01T08:00:00Z)"
        ) from None


def _read_checkpoint(path: Path | None) -> tuple[str, bytes] | None:
    from integrations.audit.chain import import_checkpoint

    if path is None:
        return None
    try:
        return import_checkpoint(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read checkpoint file {path}: {exc}") from None


async def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit import make_store, open_audit_log, verify_store
    from integrations.audit.keys import load_signing_key, public_key_bytes

    checkpoint = _read_checkpoint(args.checkpoint)
    if args.deep:
        log = await open_audit_log(settings)
        try:
            report = await log.verify(checkpoint=checkpoint, deep=True)
        finally:
            await log.close()
    else:
        signing = load_signing_key(settings, create=False)
        trusted = public_key_bytes(signing) if signing is not None else None
        if checkpoint is not None:
            trusted = None  # the exported checkpoint is the anchor
        store = make_store(settings)
        try:
            await store.open()
            report = await verify_store(store, trusted_key=trusted, checkpoint=checkpoint)
        finally:
            await store.close()
    for note in report.notes:
        print(f"note: {note}")
    if report.fault is not None:
        where = f"seq {report.fault.seq}" if report.fault.seq is not None else "log"
        print(f"FAIL: {where}: {report.fault.problem}")
        _err(f"verification failed at {where}")
        return 1
    rate = report.records / report.seconds if report.seconds > 0 else 0.0
    print(
        f"OK: {report.records} records (last seq {report.last_seq}), "
        f"{report.checkpoints} signed checkpoints, verified in {report.seconds:.3f}s "
        f"({rate:,.0f} records/s)"
    )
    return 0


async def _records(
    args: argparse.Namespace, settings: Settings
) -> tuple[AuditLog, list[ReadRecord]]:
    from integrations.audit import open_audit_log

    log = await open_audit_log(settings)
    try:
        records = await log.read(
            since_us=args.since,
            until_us=args.until,
            actor=args.actor,
            action=args.action,
            outcome=args.outcome,
        )
    except BaseException:
        await log.close()
        raise
    return log, records


def _clean(value: object) -> str:
    """Text safe for a terminal: dicts as JSON, control characters escaped."""
    text = (
        json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, dict)
        else str(value)
    )
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _line(record: ReadRecord) -> str:
    from integrations.audit.records import iso_from_us

    when = iso_from_us(record.ts_us)
    if record.content is None:
        return f"{record.seq:>8}  {when}  [{record.status}]"
    c = record.content
    who = c.get("actor_identity") or c.get("actor_id") or "-"
    where = "/".join(str(x) for x in (c.get("platform"), c.get("channel"), c.get("thread")) if x)
    parts = [f"{record.seq:>8}", when, who, c.get("action"), c.get("outcome")]
    if c.get("target"):
        parts.append(f"target={c['target']}")
    if where:
        parts.append(f"at={where}")
    if c.get("parameters"):
        parts.append(c["parameters"])
    if c.get("correlation"):
        parts.append(c["correlation"])
    return "  ".join(_clean(part) for part in parts)


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    log, records = await _records(args, settings)
    await log.close()
    for record in records:
        print(_line(record))
    print(f"({len(records)} records)")
    return 0


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit.export import to_cef, to_jsonl

    log, records = await _records(args, settings)
    await log.close()
    fmt = to_cef if args.format == "cef" else to_jsonl
    text = "".join(fmt(record) + "\n" for record in records)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(records)} records to {args.out}")
    return 0


async def _erase(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit import open_audit_log

    log = await open_audit_log(settings)
    try:
        count = await log.erase(subject=args.subject)
    finally:
        await log.close()
    if count == 0:
        print("no data key for this subject: nothing recorded for it, or already erased")
    else:
        print(
            f"erased: destroyed {count} data key(s); this subject's records can no longer be "
            "decrypted. Run `resync audit rotate-key` too if backups of the key table exist."
        )
    return 0


async def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit import open_audit_log
    from integrations.audit.keys import DEFAULT_KEK_NAME, generate_kek_file, parse_kek_text

    default = settings.audit_key is None and settings.audit_key_file is None
    target: Path | None = args.new_key_file
    staged = False
    if target is None:
        if not default:
            raise ValueError(
                "--new-key-file is required when the key comes from RESYNC_AUDIT_KEY or "
                "RESYNC_AUDIT_KEY_FILE"
            )
        target = settings.data_dir / (DEFAULT_KEK_NAME + ".new")
        staged = True
    if target.exists():
        new_kek = parse_kek_text(target.read_bytes(), source=f"new key file {target}")
    else:
        new_kek = generate_kek_file(target)
    log = await open_audit_log(settings)
    try:
        if new_kek.kek_id == log.kek_id:
            raise ValueError("the new key is the current key")
        count = await log.rotate_key(new_kek=new_kek)
    finally:
        await log.close()
    if staged:
        target.replace(settings.data_dir / DEFAULT_KEK_NAME)
        print(
            f"rotated: re-wrapped {count} data key(s); {settings.data_dir / DEFAULT_KEK_NAME} now holds the new key"
        )
    else:
        print(
            f"rotated: re-wrapped {count} data key(s) under the key in {target} (id {new_kek.kek_id}); "
            f"set RESYNC_AUDIT_KEY_FILE={target} (or RESYNC_AUDIT_KEY) and restart Resync"
        )
    return 0


async def _checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit import open_audit_log
    from integrations.audit.chain import export_checkpoint

    log = await open_audit_log(settings)
    try:
        report = await log.verify()
        if report.fault is not None:
            where = f"seq {report.fault.seq}" if report.fault.seq is not None else "log"
            print(f"FAIL: {where}: {report.fault.problem}")
            _err("refusing to checkpoint a log that does not verify")
            return 1
        statement, signature = await log.checkpoint()
    finally:
        await log.close()
    args.out.write_text(export_checkpoint(text=statement, signature=signature) + "\n")
    print(
        f"checkpoint of seq {report.last_seq} written to {args.out}; keep it where the log's writers cannot change it"
    )
    return 0


async def _forward(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.audit.forward import forward

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # finish the batch in flight, save the cursor
    try:
        ok = await forward(
            settings, once=args.once, stop=stop, report=lambda t: print(t, flush=True)
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0 if ok else 1


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_time, help="only records at or after this UTC time")
    parser.add_argument("--until", type=_time, help="only records before this UTC time")
    parser.add_argument("--actor", help="only this actor (platform user id or identity)")
    parser.add_argument("--action", help="only this action")
    parser.add_argument("--outcome", help="only this outcome")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit`` and its subcommands; each leaf sets ``handler(args, settings) -> int``.

    Args:
        subparsers: The top-level CLI's subparsers.
    """
    audit = subparsers.add_parser("audit", help="inspect, verify and manage the audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = sub.add_parser("verify", help="verify the whole log (no decryption key needed)")
    verify.add_argument("--checkpoint", type=Path, help="exported checkpoint to check against")
    verify.add_argument(
        "--deep", action="store_true", help="also decrypt every record (needs the key)"
    )
    verify.set_defaults(handler=_guard(_verify))

    show = sub.add_parser("show", help="decrypt and print records")
    _filters(show)
    show.set_defaults(handler=_guard(_show))

    export = sub.add_parser("export", help="decrypt and export records as JSON Lines or CEF")
    export.add_argument("--format", choices=("jsonl", "cef"), default="jsonl")
    export.add_argument("--out", type=Path, help="file to write (stdout when omitted)")
    _filters(export)
    export.set_defaults(handler=_guard(_export))

    erase = sub.add_parser("erase", help="destroy one data subject's key (right to erasure)")
    erase.add_argument("--subject", required=True, help="resolved identity, else platform user id")
    erase.set_defaults(handler=_guard(_erase))

    rotate = sub.add_parser("rotate-key", help="re-wrap every data key under a new KEK")
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        help="file with the new key (base64); generated (0600) when it does not exist",
    )
    rotate.set_defaults(handler=_guard(_rotate))

    checkpoint = sub.add_parser("checkpoint", help="write a signed checkpoint and export it")
    checkpoint.add_argument("--out", type=Path, required=True, help="file to write")
    checkpoint.set_defaults(handler=_guard(_checkpoint))

    fwd = sub.add_parser("forward", help="forward the log to the SIEM (Splunk HEC, syslog)")
    fwd.add_argument("--once", action="store_true", help="send what is written now, then exit")
    fwd.set_defaults(handler=_guard(_forward))
