"""How many jobs: in the plan, on a workstation, in a job stream, in a status group.

One engine query (two when a workstation matched nothing and must be checked), answered
with the number first, the split by status, the "as of" and the source.
"""

from __future__ import annotations

from collections import Counter

from agents.answers.common import Answer, AnswerContext, as_of_line, count_line, jobs_phrase
from agents.answers.lists import held_split, missing_workstation, query_group
from agents.intents import LIST_FILTER_COMMON_STATUS, Intent, ListFilter
from agents.messages import Block, Fields, Paragraph, Reply

__all__ = ["answer_count"]

# What the counted jobs do, after "N job(s)": (singular, plural).
_VERB: dict[ListFilter, tuple[str, str]] = {
    ListFilter.ABENDED: ("abended", "abended"),
    ListFilter.FAILED: ("failed", "failed"),
    ListFilter.RUNNING: ("is running", "are running"),
    ListFilter.HELD: ("is held by an operator", "are held by an operator"),
    ListFilter.WAITING: ("is waiting", "are waiting"),
    ListFilter.READY: ("is ready but not started", "are ready but not started"),
    ListFilter.SCHEDULED: ("waits for its start time", "wait for their start time"),
    ListFilter.SUCCEEDED: ("succeeded", "succeeded"),
    ListFilter.CANCELLED: ("was cancelled", "were cancelled"),
}


def _scope(intent: Intent) -> str:
    text = f" in {intent.subject}" if intent.subject else ""
    text += f" on {intent.workstation}" if intent.workstation else ""
    return text


async def answer_count(ctx: AnswerContext, intent: Intent) -> Answer:
    """Answer "how many jobs are in the plan / on AGT_LNX02 / failed?".

    Args:
        ctx: The answer context.
        intent: A COUNT intent: optional status group, job stream (subject), workstation.

    Returns:
        The number, split by status.
    """
    list_filter = intent.list_filter
    snapshot = await query_group(ctx, intent, list_filter, intent.subject)
    jobs = snapshot.value
    if intent.subject and not jobs and not intent.workstation:
        # "how many jobs has MASTER got?": a name no job stream has may be a workstation's.
        on_workstation = intent.model_copy(update={"subject": None, "workstation": intent.subject})
        other = await query_group(ctx, on_workstation, list_filter, None)
        if other.value:
            intent, snapshot, jobs = on_workstation, other, other.value
    if intent.workstation and not jobs:
        missing = await missing_workstation(ctx, intent.workstation)
        if missing is not None:
            return missing
    blocks: list[Block] = []
    scope = _scope(intent) or " in the current plan"
    if list_filter is ListFilter.HELD:
        held, waiting = held_split(jobs)
        counted = jobs_phrase(len(held)) if held else "No job"
        headline = (
            f"{counted} {_VERB[ListFilter.HELD][len(held) > 1]}{scope}; "
            f"{len(waiting)} more {'is' if len(waiting) == 1 else 'are'} in HOLD waiting for "
            "predecessors."
        )
        jobs = held + waiting
    elif list_filter is not None:
        common = LIST_FILTER_COMMON_STATUS.get(list_filter)
        if common is not None:
            jobs = [job for job in jobs if job.common_status == common]
        headline = f"{jobs_phrase(len(jobs))} {_VERB[list_filter][len(jobs) != 1]}{scope}."
    else:
        headline = f"{jobs_phrase(len(jobs))}{scope}."
    if jobs:
        counts = Counter(job.status.value for job in jobs)
        blocks.append(Fields(items=(("By status", count_line(counts)),)))
    if list_filter is None and not intent.workstation and not intent.subject:
        blocks.append(
            Paragraph(text="Narrow it: 'how many jobs on AGT_LNX02?', 'how many jobs failed?'.")
        )
    blocks.append(as_of_line(ctx, snapshot.as_of))
    return Answer(reply=Reply(headline=headline, blocks=tuple(blocks)))
