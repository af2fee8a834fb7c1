"""A use case that can move money back checks the manager's grant itself, whichever front end calls it."""

from __future__ import annotations

import pytest
from flowkit import ledger, write_config
from kit import payment_code, usd

from pos_app import services
from pos_app.errors import PosError
from pos_app.runtime import Runtime


def test_a_review_cancel_of_a_paid_sale_needs_the_manager(sim, tmp_path):
    """`review cancel` resends an unsure sale's cancel; on a paid sale that cancel reverses the payment,
    which is the manager's, as the cancel use case says (it once went through on the counter's grant)."""
    with Runtime(write_config(sim), tmp_path / "t", background=False) as rt:
        t = rt.terminal
        paid = t.start_sale(usd(1200), code=payment_code())
        assert paid.status == "SUCCESS"
        with pytest.raises(PosError, match="needs the manager PIN"):
            services.manager.review_cancel(services.counter("mallory"), t, paid.id)
        assert t.journal.children(paid.id) == []
    assert ledger(sim)[paid.id]["status"] == "SUCCESS"
