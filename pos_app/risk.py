"""The "accept at merchant risk" policy (terminal-practice §5): off unless configured, and bounded.

A QR wallet's payment code cannot be charged later the way a card can: if the gateway never sees it
inside its validity window, the sale is lost. Some merchants still prefer to hand over the goods while
the link is down, for small amounts. The policy says yes only under a per-payment limit and a limit on
what is at risk in total, per currency, like Stripe's offline limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RiskPolicy:
    enabled: bool = False
    max_per_payment: dict[str, int] = field(default_factory=dict)
    max_total: dict[str, int] = field(default_factory=dict)

    def allows(self, currency: str, amount: int, already_at_risk: int) -> tuple[bool, str]:
        """Whether a queued sale may be accepted now, and why not if it may not."""
        if not self.enabled:
            return False, "accepting payments offline is off"
        if currency not in self.max_per_payment or currency not in self.max_total:
            return False, f"no offline limit is set for {currency}"
        if amount > self.max_per_payment[currency]:
            return False, "above the offline limit per payment"
        if already_at_risk + amount > self.max_total[currency]:
            return False, "the offline total limit is reached"
        return True, "accepted at the merchant's risk"
