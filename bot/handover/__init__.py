"""The shift handover in chat: posted at each shift change, once across replicas."""

from bot.handover.poster import HandoverPoster
from bot.handover.wiring import build_handover_desk, start_handover

__all__ = ["HandoverPoster", "build_handover_desk", "start_handover"]
