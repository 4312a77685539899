"""Offline verification: the chain, the signed checkpoints and the signed head.

Needs no decryption key: hashes cover ciphertexts, and signatures are checked with the
trusted public key (an exported checkpoint's key, the configured signing key, or, failing
both, the key stored in the log, which is then reported as trusted on first use). The
chain is checked with one SHA-256 per row over bytes read in bulk; Ed25519 is verified
only for checkpoints and the head.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from integrations.audit.chain import (
    GENESIS_HASH,
    HASH_BYTES,
    Statement,
    parse_statement,
    record_hash_prefix,
    verify_statement,
)
from integrations.audit.crypto import NONCE_BYTES
from integrations.audit.errors import AuditIntegrityError, AuditKeyError
from integrations.audit.keys import load_public_key
from integrations.audit.records import Row
from integrations.audit.store import AuditStore

__all__ = ["ChainVerifier", "DeepCheck", "Fault", "VerifyReport", "verify_store"]

_SEQ_TS = struct.Struct(">Qq")

DeepCheck = Callable[[list[Row]], "Fault | None"]
"""Optional per-chunk check with keys (``verify --deep``): the first undecryptable record."""


@dataclass(frozen=True)
class Fault:
    """One verification failure: the first bad sequence number and what is wrong."""

    seq: int | None
    problem: str


@dataclass
class VerifyReport:
    """The outcome of verifying one log."""

    records: int
    last_seq: int
    checkpoints: int
    fault: Fault | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no fault was found."""
        return self.fault is None

    def raise_for_fault(self) -> None:
        """Raise `AuditIntegrityError` when a fault was found.

        Raises:
            AuditIntegrityError: With the first bad sequence number.
        """
        if self.fault is not None:
            raise AuditIntegrityError(sequence=self.fault.seq, problem=self.fault.problem)


class ChainVerifier:
    """Checks rows fed in sequence order; stops at the first fault."""

    def __init__(self, *, log_id: bytes, remember: set[int]) -> None:
        """Start at the genesis.

        Args:
            log_id: The log's id (part of every hash).
            remember: Sequence numbers whose hashes checkpoints will be compared with.
        """
        self._prefix = record_hash_prefix(log_id)
        self._remember = remember
        self.expected = 1
        self.prev = GENESIS_HASH
        self.count = 0
        self.fault: Fault | None = None
        self.hashes: dict[int, bytes] = {0: GENESIS_HASH}
        # Rows stored under a sequence number below 1 sort before seq 1. Their number says
        # nothing about where they belong, so they are placed by their ``prev_hash``: the
        # chain record whose hash it is comes right before them.
        self._strays: dict[bytes, list[int]] = {}
        self._placed: list[Fault] = []

    @property
    def strays(self) -> list[Fault]:
        """Rows stored under an impossible sequence number (below 1), at their real position.

        A row whose ``prev_hash`` links to no record of the chain is placed right after the
        last record (it belongs nowhere: forged); when the chain broke first, its position
        is unknown and the break is what is reported.
        """
        if self.fault is not None:
            return list(self._placed)
        unplaced = [
            Fault(
                self.expected,
                f"a row stored under the impossible sequence number {bogus} links to no "
                "record of the chain (forged)",
            )
            for bogus_list in self._strays.values()
            for bogus in bogus_list
        ]
        return [*self._placed, *unplaced]

    def _stray(self, seq: int, prev_hash: object) -> None:
        if prev_hash == GENESIS_HASH:
            self._place(0, [seq])
        elif isinstance(prev_hash, bytes):
            self._strays.setdefault(prev_hash, []).append(seq)
        else:
            self._strays.setdefault(b"", []).append(seq)

    def _place(self, after: int, bogus: list[int]) -> None:
        real = after + 1
        for number in bogus:
            self._placed.append(
                Fault(
                    real,
                    f"the record at seq {real} is stored under the impossible sequence "
                    f"number {number} (moved or copied there)",
                )
            )

    def feed(self, rows: Iterable[Row]) -> bool:
        """Check more rows.

        Args:
            rows: The next rows, in sequence order.

        Returns:
            False once a fault is found (feeding more changes nothing).
        """
        if self.fault is not None:
            return False
        sha = hashlib.sha256
        pack = _SEQ_TS.pack
        prefix = self._prefix
        remember = self._remember
        expected = self.expected
        prev = self.prev
        count = self.count
        strays = self._strays
        try:
            for seq, ts_us, key_id, nonce, prev_hash, ciphertext, stored in rows:
                if seq != expected:
                    if isinstance(seq, int) and seq < 1:
                        self._stray(seq, prev_hash)
                        continue
                    if isinstance(seq, int) and seq > expected:
                        self.fault = Fault(
                            expected, f"record missing (the next stored record is seq {seq})"
                        )
                    elif seq == expected - 1:
                        self.fault = Fault(seq, f"seq {seq} is stored twice (a duplicated row)")
                    else:
                        self.fault = Fault(
                            expected, f"duplicate or out-of-order record (found seq {seq!r})"
                        )
                    break
                try:
                    data = (
                        prefix
                        + pack(seq, ts_us)
                        + prev_hash
                        + nonce
                        + len(key_id).to_bytes(2, "big")
                        + key_id
                        + ciphertext
                    )
                except (TypeError, struct.error, OverflowError):
                    self.fault = Fault(seq, "a stored field has the wrong type")
                    break
                if len(nonce) != NONCE_BYTES or len(prev_hash) != HASH_BYTES:
                    self.fault = Fault(seq, "nonce or prev_hash has the wrong length")
                    break
                if prev_hash != prev:
                    self.fault = Fault(
                        seq,
                        "prev_hash is not the genesis value"
                        if seq == 1
                        else f"prev_hash does not match the hash of seq {seq - 1} "
                        "(records removed, reordered, inserted or altered)",
                    )
                    break
                if sha(data).digest() != stored:
                    self.fault = Fault(
                        seq, "stored hash does not match the record's fields (a field was altered)"
                    )
                    break
                if seq in remember:
                    self.hashes[seq] = stored
                if strays and stored in strays:
                    self._place(seq, strays.pop(stored))
                prev = stored
                expected += 1
                count += 1
        finally:
            self.expected = expected
            self.prev = prev
            self.count = count
        return self.fault is None


def _check_signed(
    key: Ed25519PublicKey, log_id: bytes, raw: tuple[object, ...], what: str, *, kind: str
) -> tuple[Statement | None, Fault | None]:
    seq_col, hash_col = raw[0], raw[1]
    statement_raw, signature = raw[-2], raw[-1]
    where = seq_col if isinstance(seq_col, int) else None
    if not isinstance(statement_raw, bytes | str) or not isinstance(signature, bytes):
        return None, Fault(where, f"{what}: malformed row")
    statement = verify_statement(public_key=key, text=statement_raw, signature=signature)
    if statement is None:
        parsed = parse_statement(statement_raw)
        return None, Fault(
            where if where is not None else parsed.seq if parsed else None,
            f"{what}: signature invalid (forged or altered)",
        )
    if statement.log_id != log_id.hex():
        return None, Fault(statement.seq, f"{what}: signed for another log")
    if statement.kind != kind:
        return None, Fault(
            statement.seq,
            f"{what}: holds a signed {statement.kind}, not a {kind} (copied from elsewhere: "
            "records after it were probably removed)",
        )
    if (
        seq_col != statement.seq
        or not isinstance(hash_col, bytes)
        or hash_col.hex() != statement.hash
    ):
        return None, Fault(statement.seq, f"{what}: stored fields differ from its signed statement")
    return statement, None


async def verify_store(
    store: AuditStore,
    *,
    trusted_key: bytes | None = None,
    checkpoint: tuple[str, bytes] | None = None,
    deep: DeepCheck | None = None,
) -> VerifyReport:
    """Verify a whole log.

    Args:
        store: The log's store.
        trusted_key: Raw Ed25519 public key to trust (else the checkpoint's, else the log's).
        checkpoint: An exported checkpoint ``(statement, signature)`` to check against
            (detects truncation and rollback).
        deep: Also decrypt (needs keys): reports forged ciphertexts.

    Returns:
        The report; ``fault`` names the first bad sequence number.

    Raises:
        AuditKeyError: The exported checkpoint is not validly signed, or by another key.
    """
    started = time.perf_counter()
    faults: list[Fault] = []
    fault: Fault | None
    notes: list[str] = []
    meta = await store.meta()
    if "log_id" not in meta or "public_key" not in meta:
        fault = Fault(None, "not an initialized audit log (metadata missing)")
        return VerifyReport(0, 0, 0, fault, time.perf_counter() - started)
    try:
        log_id = bytes.fromhex(meta["log_id"])
        stored_key = bytes.fromhex(meta["public_key"])
    except ValueError:
        fault = Fault(None, "metadata altered (log_id or public_key is not hex)")
        return VerifyReport(0, 0, 0, fault, time.perf_counter() - started)

    external: Statement | None = None
    if checkpoint is not None:
        parsed = parse_statement(checkpoint[0])
        if parsed is None:
            raise AuditKeyError("the checkpoint file's statement is malformed")
        anchor = bytes.fromhex(parsed.public_key)
        if trusted_key is not None and anchor != trusted_key:
            raise AuditKeyError("the checkpoint file is signed by another key than the trusted one")
        external = verify_statement(
            public_key=load_public_key(anchor), text=checkpoint[0], signature=checkpoint[1]
        )
        if external is None:
            raise AuditKeyError("the checkpoint file's signature is invalid")
        trusted_key = anchor
        if external.log_id != log_id.hex():
            faults.append(
                Fault(None, "the checkpoint file belongs to another log (log id differs)")
            )
    if trusted_key is None:
        trusted_key = stored_key
        notes.append("trusting the public key stored in the log (give --checkpoint to anchor it)")
    elif trusted_key != stored_key:
        faults.append(Fault(None, "the log's public key is not the trusted key (metadata altered)"))
    key = load_public_key(trusted_key)

    statements: list[Statement] = []
    for raw in await store.checkpoints():
        statement, fault = _check_signed(key, log_id, raw, "checkpoint", kind="checkpoint")
        if fault is not None:
            faults.append(fault)
        elif statement is not None:
            statements.append(statement)
    head_statement: Statement | None = None
    head_raw = await store.signed_head()
    if head_raw is None:
        faults.append(Fault(None, "the signed head row is missing"))
    else:
        head_statement, fault = _check_signed(key, log_id, head_raw, "signed head", kind="head")
        if fault is not None:
            faults.append(fault)
    remember = {s.seq for s in statements}
    if head_statement is not None:
        remember.add(head_statement.seq)
    if external is not None:
        remember.add(external.seq)

    chain = ChainVerifier(log_id=log_id, remember=remember)
    deep_fault: Fault | None = None
    async for rows in store.rows():
        if deep is not None and deep_fault is None:
            deep_fault = deep(rows)
        if not chain.feed(rows):
            break
    # A stray names the record's real position; at the same seq its words say more than
    # the chain's "record missing", and `min` keeps the first of equals.
    faults.extend(chain.strays)
    if chain.fault is not None:
        faults.append(chain.fault)
    if deep_fault is not None:
        faults.append(deep_fault)
    last = chain.expected - 1

    def against(statement: Statement, what: str) -> None:
        if statement.seq > last:
            faults.append(
                Fault(
                    last + 1,
                    f"the log ends at seq {last} but {what} covers seq {statement.seq}: "
                    "records were removed (truncation or rollback)",
                )
            )
        elif statement.seq in chain.hashes and chain.hashes[statement.seq].hex() != statement.hash:
            faults.append(
                Fault(
                    statement.seq,
                    f"the chain at seq {statement.seq} differs from {what} "
                    "(history rewritten at or before this record, or rolled back and regrown)",
                )
            )

    for statement in statements:
        against(statement, f"the signed checkpoint of {statement.time}")
    if head_statement is not None:
        against(head_statement, "the signed head")
        if chain.fault is None and last > head_statement.seq:
            faults.append(
                Fault(
                    head_statement.seq + 1,
                    f"records after seq {head_statement.seq} are not covered by the signed head "
                    "(appended outside Resync's writer: forged)",
                )
            )
    if external is not None:
        against(external, "the exported checkpoint")
    first = min(faults, key=lambda f: -1 if f.seq is None else f.seq, default=None)
    return VerifyReport(
        records=chain.count,
        last_seq=last,
        checkpoints=len(statements),
        fault=first,
        seconds=time.perf_counter() - started,
        notes=notes,
    )
