"""Job logs (stdlist) as the agent writes them: header, application lines, JOBINFO trailer.

The header/trailer layout follows what an FTA/agent stdlist looks like; application and
error lines are plausible per technology. Message ids that TWS-API.md lists (AWSBHT001E,
AWSBDW002E) are used where they fit; ``AWSBHT045E`` (job ended abnormally) is the
simulator's own stand-in: no public source confirms that id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.tws.simulator.plan import SimJob, SimRun

__all__ = ["FAILURES", "Failure", "profiles_for", "render_joblog"]

RULE = "=" * 63


@dataclass(frozen=True)
class Failure:
    """A way a job fails.

    Attributes:
        status: ``ABEND`` (ran, ended non-zero) or ``FAIL`` (could not launch).
        return_code: Exit status (ABEND).
        lines: Application lines printed before the end (``{job}`` and ``{script}`` expand).
    """

    status: str
    return_code: int | None
    lines: tuple[str, ...]


FAILURES: dict[str, Failure] = {
    "ora_snapshot": Failure(
        "ABEND",
        12,
        (
            "SQL*Plus: Release 19.0.0.0.0 - Production",
            "Connected to: Oracle Database 19c Enterprise Edition Release 19.0.0.0.0",
            "Extracting rows from PAYSTG.EMPLOYEE_PAY_ITEMS ...",
            "  fetched 1200000 rows",
            "ERROR at line 1:",
            'ORA-01555: snapshot too old: rollback segment number 14 with name "_SYSSMU14_1830574837$" too small',
            'SP2-0734: unknown command beginning "EXIT FAILU..." - rest of line ignored.',
            "{job}: extract aborted, exit code 12",
        ),
    ),
    "ora_deadlock": Failure(
        "ABEND",
        4,
        (
            "Loading batch 17/40 ...",
            "ORA-00060: deadlock detected while waiting for resource",
            'ORA-06512: at "BATCH.PKG_LOADER", line 412',
            "{job}: rolling back batch 17, exit code 4",
        ),
    ),
    "ora_tablespace": Failure(
        "ABEND",
        8,
        (
            "Inserting into STAGE.FACT_DAILY ...",
            "ORA-01653: unable to extend table STAGE.FACT_DAILY by 8192 in tablespace STAGE_DATA",
            "{job}: load failed, exit code 8",
        ),
    ),
    "disk_full": Failure(
        "ABEND",
        1,
        (
            "Writing output to /data/out/{job_lower}.dat",
            'Exception in thread "main" java.io.IOException: No space left on device',
            "\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)",
            "\tat java.base/java.io.FileOutputStream.write(FileOutputStream.java:349)",
            "\tat com.acme.batch.Writer.flush(Writer.java:118)",
        ),
    ),
    "java_oom": Failure(
        "ABEND",
        137,
        (
            "Processing partition 3/8 ...",
            "java.lang.OutOfMemoryError: Java heap space",
            "\tat com.acme.batch.Aggregator.merge(Aggregator.java:211)",
            "/opt/apps/bin/run_java.sh: line 42: 28814 Killed   java -Xmx2g -jar batch.jar",
        ),
    ),
    "conn_refused": Failure(
        "ABEND",
        8,
        (
            "Connecting to https://api.partner.example.com/v1/upload ...",
            "curl: (7) Failed to connect to api.partner.example.com port 443: Connection refused",
            "retry 3/3 failed, giving up",
        ),
    ),
    "file_missing": Failure(
        "ABEND",
        2,
        (
            "Waiting for input file /data/in/{job_lower}_*.csv",
            "ERROR: input file not found after 3 polls: /data/in/{job_lower}_*.csv",
            "{job}: nothing to process, exit code 2",
        ),
    ),
    "sftp_auth": Failure(
        "ABEND",
        5,
        (
            "sftp -b batch.txt mftuser@sftp.bank.example.com",
            "mftuser@sftp.bank.example.com: Permission denied (publickey,password).",
            "Connection closed",
        ),
    ),
    "sap_rfc": Failure(
        "ABEND",
        16,
        (
            "Calling RFC Z_MRP_RUN on SAPPRD client 100 ...",
            "RFC_ERROR_COMMUNICATION: partner 'sapprd01:3300' not reached",
            "ABAP program terminated: status E",
        ),
    ),
    "win_access": Failure(
        "ABEND",
        5,
        (
            "C:\\> robocopy \\\\fs01\\exports D:\\data\\in *.xml /R:2",
            "ERROR 5 (0x00000005) Accessing Source Directory \\\\fs01\\exports\\",
            "Access is denied.",
        ),
    ),
    "segfault": Failure(
        "ABEND",
        139,
        ("Sorting 48M records ...", "Segmentation fault (core dumped)"),
    ),
    "launch_fail": Failure(
        "FAIL",
        None,
        (
            'AWSBHT001E The job "{qualified}" failed to launch. The following error was returned: '
            '"Unable to create the stdlist file: Permission denied".',
        ),
    ),
    "invalid_logon": Failure(
        "FAIL",
        None,
        (
            'AWSBDW002E The logon user "{user}" of job "{qualified}" is not valid: '
            "the password has expired or the user does not exist.",
        ),
    ),
    "killed": Failure("ABEND", -1, ("Job killed by operator request (conman kill).",)),
}

_BY_DOMAIN: dict[str, tuple[str, ...]] = {
    "db": ("ora_snapshot", "ora_deadlock", "ora_tablespace", "disk_full", "launch_fail"),
    "java": ("java_oom", "disk_full", "conn_refused", "invalid_logon"),
    "file": ("disk_full", "segfault", "launch_fail"),
    "mft": ("sftp_auth", "file_missing", "conn_refused", "launch_fail"),
    "sap": ("sap_rfc", "disk_full", "invalid_logon"),
    "win": ("win_access", "file_missing", "invalid_logon"),
}

_APP_LINES: dict[str, tuple[str, ...]] = {
    "db": (
        "Connected to: Oracle Database 19c Enterprise Edition Release 19.0.0.0.0",
        "Session altered.",
        "{n} rows selected.",
        "PL/SQL procedure successfully completed.",
        "Commit complete.",
    ),
    "java": (
        "INFO  [main] com.acme.batch.Main - starting {job}",
        "INFO  [main] com.acme.batch.Reader - read {n} records",
        "INFO  [main] com.acme.batch.Writer - wrote {n} records",
        "INFO  [main] com.acme.batch.Main - done",
    ),
    "file": (
        "Checking free space on /backup: 41% used",
        "Copying {n} files ...",
        "Verification OK",
    ),
    "mft": (
        "Connecting to sftp.bank.example.com ...",
        "Transferred {n} bytes",
        "Checksum OK",
    ),
    "sap": (
        "Logon to SAPPRD client 100 as BATCH_TWS",
        "Job step 1 of 1 started",
        "{n} records processed",
        "Job finished",
    ),
    "win": (
        "Microsoft Windows [Version 10.0.20348]",
        "Processing {n} items",
        "The command completed successfully.",
    ),
}


def profiles_for(domain: str, rng: random.Random) -> tuple[str, ...]:
    """Failure profiles a job of this technology tends to hit, most likely first.

    Args:
        domain: ``db``, ``java``, ``file``, ``mft``, ``sap``, ``win``.
        rng: Plan random generator.

    Returns:
        Two profile names.
    """
    options = list(_BY_DOMAIN.get(domain, _BY_DOMAIN["file"]))
    rng.shuffle(options)
    return tuple(options[:2])


def _hms(delta: timedelta) -> str:
    total = max(0, int(delta.total_seconds()))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _stamp(value: datetime) -> str:
    return value.strftime("%a %b %d %H:%M:%S UTC %Y")


def _padding(job: SimJob, size: int) -> list[str]:
    """About ``size`` bytes of progress lines a chatty job prints (none of them an error)."""
    block = "\n".join(
        f"INFO  [main] {job.name.lower()} - batch {n:06d} processed, 2000 records written"
        for n in range(1, 1001)
    )
    repeats = max(1, -(-size // (len(block) + 1)))  # rounded up: at least ``size`` bytes
    # One block repeated: a 30 MB log is built at memory-copy speed.
    return ["\n".join([block] * repeats)]


def render_joblog(job: SimJob, run: SimRun, now: datetime, *, padding_bytes: int = 0) -> str:
    """The stdlist of one run as of ``now`` (no trailer while it runs).

    Args:
        job: The job.
        run: The run.
        now: Simulated now.
        padding_bytes: About this many bytes of extra application lines (a huge log).

    Returns:
        The text, newline-terminated.
    """
    rng = random.Random(run.run_id)
    fmt = {
        "job": job.name,
        "job_lower": job.name.lower(),
        "qualified": f"{job.workstation}#{job.stream.name}.{job.name}",
        "user": job.user,
        "script": job.script,
    }
    lines = [
        RULE,
        f"= JOB       : {job.workstation}#{job.stream.name}.{job.name}",
        f"= USER      : {job.user}",
        f"= JCLFILE   : {job.script}",
        f"= Job Number: {run.job_number}",
        f"= {_stamp(run.start)}",
        RULE,
    ]
    domain = job.stream.domain
    failure = FAILURES.get(run.error or "") if run.outcome != "SUCC" else None
    if failure is not None and failure.status == "FAIL":
        lines += [line.format(**fmt) for line in failure.lines]
    else:
        lines.append(f"+ {job.script} started by {job.user}")
        for line in _APP_LINES.get(domain, _APP_LINES["file"]):
            lines.append(line.format(n=rng.randint(120, 2_400_000), **fmt))
        if padding_bytes > 0:
            lines += _padding(job, padding_bytes)
        finished = run.status != "EXEC" and run.end <= now
        if failure is not None and finished:
            lines += [line.format(**fmt) for line in failure.lines]
            lines.append(
                f'AWSBHT045E The job "{fmt["qualified"]}" ended abnormally with exit status '
                f"{run.return_code}."
            )
    if run.status == "EXEC":
        return "\n".join(lines) + "\n"
    end = run.end
    lines += [
        RULE,
        f"= Exit Status           : {run.return_code if run.return_code is not None else 'N/A'}",
        f"= Elapsed Time (hh:mm:ss) : {_hms(end - run.start)}",
        f"= Job CPU usage (ms)     : {run.cpu_ms}",
        f"= Job Memory usage (kb)  : {run.mem_kb}",
        f"= {_stamp(end)}",
        "= END",
        RULE,
    ]
    return "\n".join(lines) + "\n"
