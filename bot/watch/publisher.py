"""`AlertPublisher`: the `agents.watch.ports.ReportPublisher` over the attached chat ports.

Each report is applied per platform (Slack, Teams: whichever has a port attached and an
alerts channel configured), under that platform's lease (`AlertBook.locked`), so replicas
publishing the same report never post twice:

1. each finding: `next_step` decides — open (claim, hourly rate, post the card; in Slack
   the chart is then uploaded into the alert's thread, in Teams it is inside the card),
   update in place, escalate / remind (update plus one line in the thread), or nothing;
2. findings over the hourly rate are *held*: listed in the channel's one digest message
   (posted once, then updated in place) and opened normally once the rate allows;
3. open alerts whose key is missing from the report are closed: the card is replaced by a
   closed version saying why ("recovered", "missed at 04:12"). A deadline risk is closed
   only when missing from two reports in a row (its forecast hovers at the threshold).

A paused watcher says so once, and once that it resumed (`bot.watch.notices`). Everything
is audited (`bot.watch.audit`). A store failure skips the platform for this cycle (logged):
the next report repairs it, since alerts follow the report, not a log of events. A card is
among the open keys before it is posted, and a state the store refused after the post is
kept here and saved first next cycle: the card stays managed and is never posted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

import structlog

from agents.messages import Image, Platform, Reply
from agents.watch.alert_state import AlertState, AlertStatus, FindingView, Step, next_step
from agents.watch.alerts import AlertBook, AlertBusyError, DigestEntry
from agents.watch.model import Finding, WatchReport
from bot.core.port import ChatPort
from bot.watch import render
from bot.watch.audit import record_alert
from bot.watch.charts import draw_chart
from bot.watch.closing import close_alert, may_flap, posted_at, shown_as
from bot.watch.digest import post_digest
from bot.watch.notices import announce
from integrations.audit.sink import AuditSink
from integrations.store import StoreError

__all__ = ["AlertPublisher"]

log = structlog.get_logger(__name__)


class AlertPublisher:
    """Turns watch reports into alerts in the configured channels."""

    def __init__(
        self,
        *,
        book: AlertBook,
        channels: Mapping[Platform, str],
        per_hour: int,
        zone: ZoneInfo,
        audit: AuditSink | None,
    ) -> None:
        """Wire the publisher.

        Args:
            book: Alert state shared by the replicas.
            channels: The alerts channel of each platform (unset platforms are absent).
            per_hour: New alerts per channel and hour before the digest takes over.
            zone: Display time zone.
            audit: The audit log.
        """
        self.book = book
        self._channels = dict(channels)
        self._per_hour = per_hour
        self.zone = zone
        self._audit = audit
        self.ports: dict[Platform, ChatPort] = {}
        # Cards posted whose state the store refused: saved first thing next cycle, so the
        # card is updated and closed like any other and never posted a second time.
        self._unsaved: dict[tuple[str, str], AlertState] = {}

    def attach(self, port: ChatPort) -> None:
        """Publish on ``port``'s platform too (when its alerts channel is set)."""
        self.ports[port.platform] = port

    def channel_for(self, platform: Platform) -> str | None:
        """The alerts channel of ``platform``, None when alerts are off there."""
        return self._channels.get(platform) or None

    def _targets(self) -> list[tuple[ChatPort, str]]:
        return [
            (port, self._channels[platform])
            for platform, port in self.ports.items()
            if self._channels.get(platform)
        ]

    # --- ReportPublisher -------------------------------------------------------------------

    async def publish(self, report: WatchReport) -> None:
        """Open, update and close alerts so that they match ``report.findings``.

        A report with ``paused`` set closes nothing (an empty report while blind is no
        all-clear): it only says, once, that watching is paused.
        """
        if report.paused is not None:
            await self.paused(report.paused)
            return
        # The book knows whether a pause was announced: asking every time (idempotent)
        # means a store error in the watcher's own pause flag cannot lose the "resumed".
        await self.resumed()
        charts: dict[str, str | None] = {}
        for port, channel in self._targets():
            platform = port.platform.value
            try:
                async with self.book.locked(f"publish:{platform}"):
                    await self._apply(port, channel, report, charts)
            except (StoreError, AlertBusyError) as exc:
                log.error("watch.publish_skipped", platform=platform, error=str(exc)[:200])

    async def paused(self, reason: str) -> None:
        """Say once that watching is paused.

        Raises:
            StoreError: The store failed: nothing was said, so the watcher does not
                remember the pause as announced and asks again next cycle.
            AlertBusyError: As for StoreError.
        """
        try:
            await announce(reason, book=self.book, targets=self._targets(), audit=self._audit)
        except (StoreError, AlertBusyError) as exc:
            log.error("watch.notice_skipped", error=str(exc)[:200])
            raise

    async def resumed(self) -> None:
        """Say once that watching runs again (nothing when no pause was announced).

        A store failure is logged: `publish` asks again with the next report.
        """
        try:
            await announce(None, book=self.book, targets=self._targets(), audit=self._audit)
        except (StoreError, AlertBusyError) as exc:
            log.error("watch.notice_skipped", error=str(exc)[:200])

    # --- one platform ----------------------------------------------------------------------

    async def _chart(self, finding: Finding, charts: dict[str, str | None]) -> str | None:
        if finding.key not in charts:
            png = await draw_chart(finding.chart)
            charts[finding.key] = None if png is None else Image.of(png, alt="").data
        return charts[finding.key]

    async def card(self, state: AlertState) -> Reply:
        """The card an alert shows now (open or closed), with the current ack and snooze."""
        attention = await self.book.attention(state.view.key)
        if state.status is AlertStatus.CLOSED:
            return render.closed_reply(
                state.view, note=state.closed_note or "", attention=attention, zone=self.zone
            )
        return render.alert_reply(
            state.view,
            attention=attention,
            chart=state.chart,
            as_of=state.as_of,
            now=self.book.clock(),
            zone=self.zone,
        )

    async def _apply(
        self,
        port: ChatPort,
        channel: str,
        report: WatchReport,
        charts: dict[str, str | None],
    ) -> None:
        platform = port.platform.value
        for (on, key), pending in list(self._unsaved.items()):
            if on == platform:
                await self.book.save(pending)
                del self._unsaved[(on, key)]
        keys = await self.book.open_keys(platform)
        held: list[DigestEntry] = []
        for finding in report.findings:
            state = await self.book.get(platform, finding.key)
            outcome = await self._one(port, channel, report, finding, state, charts)
            if outcome is AlertStatus.HELD:
                held.append(
                    DigestEntry(
                        key=finding.key,
                        headline=finding.headline,
                        severity=finding.severity.value,
                    )
                )
            if outcome is not None and finding.key not in keys:
                keys.append(finding.key)
        current = {f.key for f in report.findings}
        # A deadline risk hovering at the threshold comes and goes between cycles: it is
        # closed only when missing from two reports in a row, not reopened as a new post.
        missed = set(await self.book.missing_keys(platform))
        gone = [k for k in keys if k not in current and k not in missed]
        grace = [k for k in gone if await may_flap(self.book, platform, k, report.as_of)]
        current.update(grace)
        await self.book.set_missing_keys(platform, grace)
        for key in [k for k in keys if k not in current]:
            await close_alert(
                port,
                channel,
                key,
                as_of=report.as_of,
                book=self.book,
                zone=self.zone,
                audit=self._audit,
            )
        await self.book.set_open_keys(platform, [k for k in keys if k in current])
        if held:
            await post_digest(
                port,
                channel,
                held,
                book=self.book,
                per_hour=self._per_hour,
                zone=self.zone,
                audit=self._audit,
            )

    async def _one(
        self,
        port: ChatPort,
        channel: str,
        report: WatchReport,
        finding: Finding,
        state: AlertState | None,
        charts: dict[str, str | None],
    ) -> AlertStatus | None:
        """Apply one finding; returns its status when open or held (None: nothing yet)."""
        view = FindingView.of(finding)
        attention = await self.book.attention(finding.key)
        now = self.book.clock()
        step = next_step(state, view, attention, now=now)
        if step is Step.QUIET:
            return state.status if state is not None else None
        if step is Step.OPEN:
            return await self._open(port, channel, report, finding, state, charts)
        assert state is not None  # next_step: anything but OPEN has a posted alert
        assert state.message is not None
        chart = None
        if port.platform is Platform.TEAMS:  # Slack keeps the chart uploaded at the start
            chart = await self._chart(finding, charts) or state.chart
        reply = render.alert_reply(
            view, attention=attention, chart=chart, as_of=report.as_of, now=now, zone=self.zone
        )
        done = await port.replace(posted_at(state.message), reply)
        reminded = attention.snoozed_until if step is Step.REMIND else state.reminded_until
        noted = None
        if step in (Step.ESCALATE, Step.REMIND):
            noted = await port.post_in_thread(
                channel=state.message.channel,
                thread=state.message.thread or state.message.message_id,
                reply=render.thread_note(view, reminder=step is Step.REMIND),
            )
        if done:
            await self.book.save(
                state.model_copy(
                    update={
                        "view": view,
                        "fingerprint": view.fingerprint,
                        "chart": chart,
                        "as_of": report.as_of,
                        "reminded_until": reminded,
                    }
                )
            )
        elif noted is not None or step is Step.REMIND:
            # The note is out but the card edit failed: remember the severity and the
            # reminder (the note is said once), keep the old fingerprint (the card shows
            # the old values), so the next cycle retries the edit as a silent update.
            await self.book.save(
                state.model_copy(update={"view": view, "reminded_until": reminded})
            )
        await record_alert(
            self._audit,
            action="watch.alert_update",
            outcome={"update": "updated", "escalate": "escalated", "remind": "reminded"}[step]
            if done
            else "failed",
            platform=port.platform.value,
            channel=channel,
            key=finding.key,
            target=finding.object_name,
            thread=state.message.message_id,
            parameters={"headline": finding.headline, "probability": finding.probability},
        )
        return AlertStatus.OPEN

    async def _open(
        self,
        port: ChatPort,
        channel: str,
        report: WatchReport,
        finding: Finding,
        state: AlertState | None,
        charts: dict[str, str | None],
    ) -> AlertStatus | None:
        platform = port.platform.value
        generation = 1 if state is None else state.generation + (state.status is AlertStatus.CLOSED)
        if not await self.book.claim_post(platform, finding.key, generation):
            return state.status if state is not None else None  # another replica posts it
        # Among the open keys before anything is posted: whatever fails later in the
        # cycle, the next one still updates and closes this alert.
        await self.book.add_open_key(platform, finding.key)
        view = FindingView.of(finding)
        base = AlertState(
            platform=platform,
            channel=channel,
            generation=generation,
            status=AlertStatus.HELD,
            view=view,
        )
        if not await self.book.allow_new(platform, channel, self._per_hour):
            await self.book.release_post(platform, finding.key, generation)
            await self.book.save(base)
            if state is None or state.status is not AlertStatus.HELD:
                await record_alert(
                    self._audit,
                    action="watch.alert",
                    outcome="held",
                    platform=platform,
                    channel=channel,
                    key=finding.key,
                    target=finding.object_name,
                    parameters={"headline": finding.headline},
                )
            return AlertStatus.HELD
        chart = await self._chart(finding, charts)
        attention = await self.book.attention(finding.key)
        # Slack shows only images it hosts: the chart is uploaded into the thread instead.
        in_card = chart if port.platform is Platform.TEAMS else None
        reply = render.alert_reply(
            view,
            attention=attention,
            chart=in_card,
            as_of=report.as_of,
            now=self.book.clock(),
            zone=self.zone,
        )
        posted = await port.post_to_channel(channel=channel, reply=reply)
        # Recorded at once: a replica killed later in this step (the state save, the chart's
        # upload) still leaves the post's audit record.
        await record_alert(
            self._audit,
            action="watch.alert",
            outcome="posted" if posted is not None else "failed",
            platform=platform,
            channel=channel,
            key=finding.key,
            target=finding.object_name,
            thread=posted.message_id if posted is not None else None,
            parameters={
                "headline": finding.headline,
                "kind": finding.kind.value,
                "severity": finding.severity.value,
                "chart": chart is not None,
                "generation": generation,
            },
        )
        if posted is None:
            await self.book.release_post(platform, finding.key, generation)
        else:
            opened = base.model_copy(
                update={
                    "status": AlertStatus.OPEN,
                    "message": shown_as(posted),
                    "fingerprint": view.fingerprint,
                    "chart": in_card,
                    "as_of": report.as_of,
                    "opened_at": self.book.clock(),
                }
            )
            try:
                await self.book.save(opened)
            except StoreError as exc:
                # The card is out and its claim still holds: keep its state for the next
                # cycle (saved before anything else) rather than lose track of the card.
                self._unsaved[(platform, finding.key)] = opened
                log.error("watch.alert_unsaved", key=finding.key, error=str(exc)[:200])
            if chart is not None and port.platform is not Platform.TEAMS:
                await port.upload_image(
                    channel=posted.channel,
                    thread=posted.thread or posted.message_id,
                    png=Image(data=chart, alt="").png,
                    title=finding.headline,
                )
        return AlertStatus.OPEN if posted is not None else None

    async def refresh(self, key: str, *, skip: Platform | None = None) -> None:
        """Show the current ack and snooze on the alert's card on every platform but ``skip``."""
        for port, _channel in self._targets():
            if port.platform is skip:
                continue
            state = await self.book.get(port.platform.value, key)
            if state is not None and state.message is not None:
                await port.replace(posted_at(state.message), await self.card(state))
