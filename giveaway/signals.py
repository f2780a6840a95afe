"""What the domain tells the observers: plain blinker signals, no metrics library.

Views and services call the small functions below at their boundary; the
metrics and the logs subscribe (giveaway.observability.metrics, .logs). A
domain module imports only this file.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# outcome: "claimed", "already" (asked again, shown the same code), "refused"
# (with the failed check's key, "form" or "region" as the reason) or
# "pool_empty" (eligible, but no code left).
claim_decided = _signals.signal("claim-decided")


def claim(outcome: str, reason: str = "", batch_id: int | None = None) -> None:
    """Tell the observers how a claim request ended (never the region or the code)."""
    claim_decided.send(None, outcome=outcome, reason=reason, batch_id=batch_id)


def claim_refused(result: object) -> None:
    """A claim refused by eligibility: the reason is the first check that failed."""
    failed = getattr(result, "failed", [])
    if getattr(result, "only_pool_empty", False):
        claim("pool_empty")
    else:
        claim("refused", failed[0].key if failed else "unknown")
