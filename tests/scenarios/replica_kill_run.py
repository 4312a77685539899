"""One run of the replica-kill load and its figures (`test_replica_kill.py`, the benchmark).

The load, for ``seconds``: ``people`` people ask questions (about ``rate`` a second in all,
round-robin over the replicas by `Balancer`), ask for a rerun of each failed job and two
approvers click Approve at once (the requester's own click is refused: four eyes), declare
incidents; the watcher posts the scenario's alerts. Midway the replica holding the watch
lease gets SIGKILL, the load goes on, and it is restarted once another replica leads.
Then everything is read back from the mock Slack, the simulator's API and the audit log.

Imported by name: ``from replica_kill_run import Figures, run``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from replica_kill_support import (
    APPROVERS,
    INCIDENTS,
    LEASE_SECONDS,
    SIM_AUTH,
    Balancer,
    Cluster,
    Post,
    cluster,
)
from slack_support import click_body, mention_envelope

CHANNEL = "CQ"
QUESTIONS = (
    "what failed tonight?",
    "status of PAYROLL_EXTRACT",
    "what is late?",
    "is anything at risk tonight?",
    "status of BILLING_CDR_DEDUP",
    "what is running now?",
    "why did PAYROLL_EXTRACT fail?",
    "which workstations are down?",
)


@dataclass
class Figures:
    """What one run measured (printed by the test and the benchmark)."""

    questions: int = 0
    answered_once: int = 0
    doubled: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    lost_acked_by_killed: list[str] = field(default_factory=list)
    # Acknowledged by the killed replica, answered after the kill: re-run from the inbox.
    recovered: list[str] = field(default_factory=list)
    lost_where: dict[str, str] = field(default_factory=dict)  # event id -> what the balancer saw
    latencies: list[float] = field(default_factory=list)
    retried_deliveries: int = 0
    takeover_seconds: float | None = None
    killed: int | None = None
    runbooks: dict[str, int] = field(default_factory=dict)  # job -> reruns seen at the engine
    runbook_done_posts: dict[str, int] = field(default_factory=dict)
    declared: int = 0
    declared_answered: int = 0
    incidents: int = 0
    channels_created: Counter[str] = field(default_factory=Counter)
    announcements: Counter[str] = field(default_factory=Counter)
    alert_posts: Counter[str] = field(default_factory=Counter)
    alerts_audited: Counter[str] = field(default_factory=Counter)
    missing_audit: list[str] = field(default_factory=list)
    reminders: Counter[tuple[str, str]] = field(default_factory=Counter)
    reminders_after_kill: int = 0
    requester_notes: dict[str, list[str]] = field(default_factory=dict)  # what they were told
    audit_verify: str = ""
    audit_ok: bool = False
    seconds: float = 0.0

    def line(self) -> str:
        """The one line of figures."""
        lat = sorted(self.latencies) or [0.0]
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        dupes = len(self.doubled) + sum(n - 1 for n in self.channels_created.values() if n > 1)
        dupes += sum(n - 1 for n in self.alert_posts.values() if n > 1)
        dupes += sum(n - 1 for n in self.runbook_done_posts.values() if n > 1)
        dupes += sum(n - 1 for n in self.reminders.values() if n > 1)
        dupes += sum(n - 1 for n in self.announcements.values() if n > 1)
        dupes += sum(n - 1 for n in self.alerts_audited.values() if n > 1)
        takeover = "none" if self.takeover_seconds is None else f"{self.takeover_seconds:.1f}s"
        return (
            f"replica kill: questions={self.questions} answered_once={self.answered_once} "
            f"p50={statistics.median(lat) * 1000:.0f}ms p95={p95 * 1000:.0f}ms "
            f"takeover={takeover} (lease {LEASE_SECONDS:g}s) duplicates={dupes} "
            f"lost={len(self.lost)} (acked by the killed replica: "
            f"{len(self.lost_acked_by_killed)}) recovered_from_inbox={len(self.recovered)} "
            f"retried_deliveries={self.retried_deliveries} "
            f"runbooks={self.runbooks} incidents={self.incidents} "
            f"reminders={sum(self.reminders.values())} "
            f"(after the kill: {self.reminders_after_kill}) "
            f"alerts={len(self.alert_posts)} missing_audit={len(self.missing_audit)} "
            f"audit_verify={'OK' if self.audit_ok else 'FAIL'} run={self.seconds:.0f}s"
        )


@dataclass
class _Load:
    cluster: Cluster
    balancer: Balancer
    run: str
    people: list[str]
    asked: dict[str, str] = field(default_factory=dict)  # question ts -> event id
    requests: dict[str, tuple[str, str]] = field(default_factory=dict)  # ts -> (job, id)
    clicks: list[str] = field(default_factory=list)
    declarations: set[str] = field(default_factory=set)  # question ts
    requesters: dict[str, str] = field(default_factory=dict)  # request ts -> who asked
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def mention(self, person: str, text: str) -> str:
        n = next(self._n)
        ts, event_id = f"{1800000000 + n}.{self.run}", f"Ev{self.run}{n:05d}"
        envelope = mention_envelope(
            f"<@UBOT> {text}", event_id=event_id, user=person, channel=CHANNEL, ts=ts
        )
        self.asked[ts] = event_id
        await self.balancer.send(event_id, json.dumps(envelope).encode(), form=False)
        return ts

    async def declare(self, person: str, title: str) -> None:
        self.declarations.add(await self.mention(person, f"incident declare SEV3 {title}"))

    async def approve(self, ts: str, requester: str) -> None:
        """Once the card is up: the requester and two approvers click Approve at once."""
        card = await _wait_for(lambda: _card(self.cluster, ts), 60)
        if card is None:
            return
        button = next(
            e
            for b in card.blocks
            if b.get("type") == "actions"
            for e in b["elements"]
            if str(e.get("action_id", "")).startswith("runbook.approve")
        )
        clickers = [requester, *APPROVERS[:2]]
        await asyncio.gather(*(self._click(ts, card, button, who) for who in clickers))

    async def _click(self, ts: str, card: Post, button: dict[str, Any], who: str) -> None:
        n = next(self._n)
        trigger, action_ts = f"trig{self.run}{n}", f"{1900000000 + n}.{self.run}"
        body = click_body(
            action_id=button["action_id"],
            value=button["value"],
            message={"ts": card.ts, "thread_ts": ts, "blocks": card.blocks},
            user=who,
            channel=CHANNEL,
            trigger=trigger,
            action_ts=action_ts,
        )
        delivery = f"{trigger}:{button['action_id']}:{action_ts}"
        self.clicks.append(delivery)
        await self.balancer.send(delivery, body, form=True)


def _card(cluster: Cluster, ts: str) -> Post | None:
    for post in cluster.slack.in_thread(CHANNEL, ts):
        if any(b.get("type") == "actions" for b in post.blocks) and "approval" in post.text:
            return post
    return None


async def _wait_for(probe: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    return None


async def _failed_jobs(sim_url: str) -> list[tuple[str, str]]:
    async with (
        aiohttp.ClientSession(auth=SIM_AUTH) as session,
        session.get(f"{sim_url}/twsd/api/v2/plan/job?limit=500") as response,
    ):
        jobs = (await response.json())["results"]
    return [
        (f"{j['jobStreamInPlan']['name']}.{j['name']}", j["id"])
        for j in jobs
        if j["status"]["internalStatus"] in ("ABEND", "FAIL")
    ]


async def _reruns(sim_url: str, job_id: str) -> int:
    async with (
        aiohttp.ClientSession(auth=SIM_AUTH) as session,
        session.get(f"{sim_url}/twsd/api/v2/plan/job/{job_id}") as response,
    ):
        return int((await response.json())["rerunCount"])


async def _kill_leader(cluster: Cluster, figures: Figures) -> None:
    """SIGKILL the watch leader, time the takeover, restart it."""
    owner = await _wait_for_async(cluster.leader, 3 * LEASE_SECONDS)
    victim = cluster.by_pid(owner) or cluster.replicas[0]
    figures.killed = victim.index
    cluster.kill(victim)
    killed_at = time.monotonic()
    assert victim.process is not None
    await victim.process.wait()
    # Dead from here on: an ack read before this may have been written just before death.
    cluster.kills.append(time.monotonic())
    while time.monotonic() - killed_at < 6 * LEASE_SECONDS:
        now = await cluster.leader()
        if now is not None and now != owner:
            figures.takeover_seconds = time.monotonic() - killed_at
            break
        await asyncio.sleep(0.1)
    await cluster.start(victim)


async def _wait_for_async(probe: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    return None


async def _drive(load: _Load, figures: Figures, *, seconds: float, rate: float) -> None:
    failed = await _failed_jobs(load.cluster.sim_url)
    plan = {int(i * seconds / (len(failed) + 1)): job for i, job in enumerate(failed[:4], 1)}
    declarations = {int(seconds * f): n for n, f in enumerate((0.2, 0.5, 0.8), 1)}
    work: list[asyncio.Task[Any]] = []
    killer: asyncio.Task[None] | None = None
    started, texts, people = (
        time.monotonic(),
        itertools.cycle(QUESTIONS),
        itertools.cycle(load.people),
    )
    tick = 0
    while (elapsed := time.monotonic() - started) < seconds:
        if killer is None and elapsed >= seconds / 2:
            killer = asyncio.create_task(_kill_leader(load.cluster, figures))
        work.append(asyncio.create_task(load.mention(next(people), next(texts))))
        second = int(elapsed)
        if second in plan:
            name, job_id = plan.pop(second)
            work.append(asyncio.create_task(_request(load, figures, name, job_id)))
        if second in declarations:
            title = f"kill test {load.run} {declarations.pop(second)}"
            work.append(asyncio.create_task(load.declare(next(people), title)))
        tick += 1
        await asyncio.sleep(max(0.0, started + tick / rate - time.monotonic()))
    if killer is not None:
        await killer
    await asyncio.gather(*work)


async def _request(load: _Load, figures: Figures, job: str, job_id: str) -> None:
    requester = load.people[len(load.requests) % len(load.people)]
    ts = await load.mention(requester, f"rerun {job}")
    load.requests[ts] = (job, job_id)
    load.requesters[ts] = requester
    await load.approve(ts, requester)


def _acked_by_killed(load: _Load, figures: Figures, event_id: str) -> bool:
    delivery = load.balancer.deliveries[event_id]
    kills = load.cluster.kills
    return bool(
        kills
        and delivery.replica == figures.killed
        and delivery.acked_at is not None
        and delivery.acked_at <= kills[0]
    )


def _answers(posts: list[Post]) -> list[Post]:
    """The final answers in a question's thread (placeholders and their updates excluded)."""
    return [p for p in posts if not p.text.startswith(("Looking up", "Working on"))]


async def run(tmp: Path, *, seconds: float, people: int, rate: float) -> Figures:
    """Start the deployment, drive the load with a kill midway, read back the figures."""
    figures, began = Figures(), time.monotonic()
    run_id = uuid.uuid4().hex[:6]
    async with cluster(tmp) as deployment, aiohttp.ClientSession() as session:
        balancer = Balancer(deployment, session)
        load = _Load(deployment, balancer, run_id, [f"UP{run_id}{i:03d}" for i in range(people)])
        await _drive(load, figures, seconds=seconds, rate=rate)
        await _settle(load, figures)
        # Stopped first: the watch keeps posting alerts while it runs, so Slack's posts and
        # the audit export read a moment apart could differ by the alert posted in between.
        await deployment.stop()
        await _read_back(load, figures)
        code, out = await deployment.resync("audit", "verify")
        figures.audit_ok, figures.audit_verify = code == 0, out.strip()[-400:]
    figures.seconds = time.monotonic() - began
    return figures


async def _settle(load: _Load, figures: Figures) -> None:
    """Wait (bounded) until every question has an answer and every rerun happened."""
    slack = load.cluster.slack

    def waiting() -> list[str]:
        """Unanswered questions, those acknowledged by the killed replica included (Slack
        never sends them again: the inbox sweep of a live replica answers them)."""
        return [ts for ts in load.asked if not _answers(slack.in_thread(CHANNEL, ts))]

    await _wait_for(lambda: not waiting(), 30)
    for _, job_id in load.requests.values():

        async def rerun(job_id: str = job_id) -> bool:
            return await _reruns(load.cluster.sim_url, job_id) > 0

        await _wait_for_async(rerun, 30)
    await asyncio.sleep(LEASE_SECONDS)  # a late double post would show by now


async def _read_back(load: _Load, figures: Figures) -> None:
    deployment, slack = load.cluster, load.cluster.slack
    killed_at = deployment.kills[0] if deployment.kills else None
    for ts, event_id in load.asked.items():
        if ts in load.requests:
            continue
        if ts in load.declarations:
            figures.declared += 1
        figures.questions += 1
        answers = _answers(slack.in_thread(CHANNEL, ts))
        delivery = load.balancer.deliveries[event_id]
        if delivery.attempts > 1:
            figures.retried_deliveries += 1
        if len(answers) == 1:
            figures.answered_once += 1
            figures.declared_answered += ts in load.declarations
            figures.latencies.append(answers[0].at - delivery.sent_at)
            if _acked_by_killed(load, figures, event_id) and answers[0].at > (killed_at or 0.0):
                figures.recovered.append(event_id)
        elif not answers:
            figures.lost.append(event_id)
            since_kill = (delivery.acked_at or 0.0) - (killed_at or 0.0)
            figures.lost_where[event_id] = (
                f"acked by replica {delivery.replica} {since_kill:+.2f}s from the kill "
                f"after {delivery.attempts} attempt(s); thread {ts}"
            )
            if _acked_by_killed(load, figures, event_id):
                figures.lost_acked_by_killed.append(event_id)
        else:
            figures.doubled.append(event_id)
    for ts, (job, job_id) in load.requests.items():
        figures.runbooks[job] = await _reruns(deployment.sim_url, job_id)
        done = [p for p in slack.in_thread(CHANNEL, ts) if " was rerun; watch it" in p.text]
        figures.runbook_done_posts[job] = len(done)
    for ts, requester in load.requesters.items():
        figures.requester_notes[ts] = [
            str(w.get("text"))
            for w in slack.of("chat.postEphemeral")
            if w.get("user") == requester and w.get("thread_ts") == ts
        ]
    reminders = [p for p in slack.posts if ": no status update for " in p.text]
    figures.reminders = Counter((p.channel, p.text.split("\n")[0]) for p in reminders)
    figures.reminders_after_kill = sum(1 for p in reminders if killed_at and p.at > killed_at)
    creates = slack.of("conversations.create")
    figures.channels_created = Counter(str(c["name"]) for c in creates)
    figures.incidents = len(figures.channels_created)
    figures.announcements = Counter(
        p.text.split(" declared")[0] for p in slack.posts
        if p.channel == INCIDENTS and p.method == "chat.postMessage"
    )  # fmt: skip
    figures.alert_posts = Counter(
        p.text for p in slack.posts
        if p.channel == "CALERTS" and p.method == "chat.postMessage" and p.thread is None
    )  # fmt: skip
    code, out = await deployment.resync("audit", "export")
    assert code == 0, out[-2000:]
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    seen = {
        str(r["correlation"].get("delivery_id"))
        for r in records
        if r["action"] in ("chat.message", "chat.click")
    }
    answered = {str(r["correlation"].get("event_id")) for r in records if r["action"] == "question"}
    for key in load.balancer.deliveries:
        if key in figures.lost:
            continue  # no answer, so no question record; see `Figures.lost_acked_by_killed`
        if key not in seen:
            figures.missing_audit.append(key)
        elif key in load.asked.values() and key not in answered:
            figures.missing_audit.append(f"question:{key}")
    figures.alerts_audited = Counter(
        f"{r['correlation'].get('alert_key')}#{r['parameters'].get('generation')}"
        for r in records
        if r["action"] == "watch.alert" and r["outcome"] == "posted"
    )
    # Past the hourly alert rate (many findings at some hours of the wall clock the
    # simulator follows) the rest go into one digest message per channel: a post of its own.
    figures.alerts_audited.update(
        f"digest:{r.get('channel')}"
        for r in records
        if r["action"] == "watch.digest" and r["outcome"] == "posted"
    )
