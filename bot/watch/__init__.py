"""Alerts in chat: the watcher's findings as cards with charts and buttons in Slack and Teams.

`bot.watch.wiring.build_watch_alerts` builds the parts; see docs/watch-alerts.md.
"""
