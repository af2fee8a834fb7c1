"""Report amounts become minor units exactly, whichever way the parser reads them (a plain ``-12.34`` is read
in integers for speed, other shapes through Decimal): each cell is checked against ``fractions.Fraction``, an
independent exact reading, times 10 ** the currency's ISO 4217 exponent. Not a whole number of minor units:
refused, naming the column."""

from __future__ import annotations

import csv
import io
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.settlement import columns as C
from pos_app.settlement.parse import SettlementFileError, read_report

EXPONENTS = {"USD": 2, "JPY": 0, "KWD": 3}   # ISO 4217, written out here rather than read from pos_app.money


def _file(amount: str, currency: str) -> bytes:
    header = list(C.COLUMNS[C.TRANSACTIONS])
    row = dict.fromkeys(header, "")
    row.update(customerId="C1", transactionId="T1", transactionRequestId="pay-1", transactionType="PAYMENT",
               status="SUCCESS", transactionAmountValue=amount, transactionCurrency=currency)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow([row[h] for h in header])
    writer.writerow([C.END])
    return out.getvalue().encode("utf-8")


def _expected(amount: str, currency: str) -> int | None:
    """The minor units, or None where the cell is not a whole number of them."""
    value = Fraction(amount) * 10 ** EXPONENTS[currency]
    return int(value) if value.denominator == 1 else None


def _read(amount: str, currency: str) -> int | None:
    try:
        return read_report(_file(amount, currency), "transactionItems_20261206_000.csv").rows[0].amount
    except SettlementFileError as exc:
        assert "transactionAmountValue" in exc.message and repr(amount) in exc.message
        return None


SHAPES = ["12.34", "-12.34", "0", "-0", "-0.00", "0.10", "100", "100.00", "100.000", "12.345", "12.3450", "5.5",
          "007.50", "+1.25", ".5", "-.5", "1.", "99999999999999999999.99", "0.001", "-0.0010"]


@pytest.mark.parametrize("currency", sorted(EXPONENTS))
@pytest.mark.parametrize("amount", SHAPES)
def test_each_shape_is_read_exactly_or_refused(amount, currency):
    assert _read(amount, currency) == _expected(amount, currency)


@settings(max_examples=300, deadline=None)
@given(sign=st.sampled_from(["", "-", "+"]), whole=st.integers(0, 10**15),
       fraction=st.text("0123456789", max_size=5), currency=st.sampled_from(sorted(EXPONENTS)))
def test_generated_amounts_agree_with_fractions(sign, whole, fraction, currency):
    amount = f"{sign}{whole}" + (f".{fraction}" if fraction else "")
    assert _read(amount, currency) == _expected(amount, currency)
