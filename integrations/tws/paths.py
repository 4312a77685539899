"""Every engine path Resync calls, in one place.

HCL does not publish the OpenAPI file (each master serves it at ``/twsd/WA_API3_v2.json``);
what is here follows HCL's documentation and its official REST samples
(``WorkloadAutomation/TWS_REST_API_Python_samples``, ``.../TWS_REST_API_Shell_script_samples``,
``WAdev0/WA_REST_API_Node_samples``). Confidence per path: **doc** (HCL docs or official
samples), **lab** (third-party notes against a 10.2.8 master), **guess**. When a
real master's spec disagrees, correct it here and in `integrations.tws.wire`.

The bundled simulator serves exactly these paths.

OQL subset Resync sends (and the simulator understands) on ``GET /plan/job`` and
``GET /plan/jobstream``::

    expr    := term { "AND" term } [ "ORDER BY" field ("ASC"|"DESC") ]
    term    := field "=" 'text' | field "LIKE" 'pattern' | field "IN" ( 'a', 'b' )
    pattern := text where % matches any run of characters and _ one character (guess)

Fields: ``name``, ``jobStreamName``, ``workstationName``, ``status`` (internal status) on
jobs; ``name``, ``workstationName``, ``status`` on job streams.
"""

from __future__ import annotations

from urllib.parse import quote

from integrations.tws.models import JobAction, JobStreamAction

__all__ = [
    "ENGINE_INFO",
    "JOBS",
    "JOBSTREAMS",
    "V2",
    "WORKSTATIONS",
    "job",
    "job_action",
    "job_history",
    "job_log",
    "job_predecessors",
    "job_successors",
    "jobstream",
    "jobstream_action",
    "jobstream_predecessors",
    "jobstream_successors",
]

V2 = "/twsd/api/v2"

JOBS = f"{V2}/plan/job"  # GET ?oql=&limit=&offset= -> {count, results, next?}  (doc/lab)
JOBSTREAMS = f"{V2}/plan/jobstream"  # GET ?oql=&limit=&offset=  (lab)
WORKSTATIONS = f"{V2}/plan/workstation"  # GET -> {count, results}  (lab; fields guessed)
ENGINE_INFO = f"{V2}/engine/info"  # GET  (lab)


def _segment(value: str) -> str:
    return quote(value, safe="")


def job(job_id: str) -> str:
    """``GET`` one plan job by its plan UUID (lab)."""
    return f"{JOBS}/{_segment(job_id)}"


def job_predecessors(job_id: str) -> str:
    """``GET`` a job's predecessors (lab)."""
    return f"{job(job_id)}/predecessors"


def job_successors(job_id: str) -> str:
    """``GET`` a job's successors (lab)."""
    return f"{job(job_id)}/successors"


def job_history(job_id: str) -> str:
    """``GET ?days=N`` the job's past runs from archived plans (guess: the console shows them)."""
    return f"{job(job_id)}/history"


def job_action(job_id: str, action: JobAction) -> str:
    """``PUT`` with body ``{}``: an action on a plan job (lab; release-dependencies: guess)."""
    return f"{job(job_id)}/action/{action.value}"


def job_log(run_id: str) -> str:
    """``GET`` the stdlist of one run, ``text/plain``, ending with a JOBINFO trailer (lab)."""
    return f"{JOBS}/run/{_segment(run_id)}/joblog"


def jobstream(jobstream_id: str) -> str:
    """``GET`` one job stream instance (lab)."""
    return f"{JOBSTREAMS}/{_segment(jobstream_id)}"


def jobstream_predecessors(jobstream_id: str) -> str:
    """``GET`` a job stream's predecessors (lab)."""
    return f"{jobstream(jobstream_id)}/predecessors"


def jobstream_successors(jobstream_id: str) -> str:
    """``GET`` a job stream's successors (lab)."""
    return f"{jobstream(jobstream_id)}/successors"


def jobstream_action(jobstream_id: str, action: JobStreamAction) -> str:
    """``PUT`` with body ``{}``: hold, release or cancel a job stream instance (guess)."""
    return f"{jobstream(jobstream_id)}/action/{action.value}"
