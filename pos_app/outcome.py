"""What a gateway call came to: success, failure, or unknown, and for unknown whether it was delivered.

Its own module because the flows (pure) reason about outcomes without needing the HTTP client, and
the cashier window loads the flows without waiting for requests and OpenSSL to import.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


class Delivery(enum.StrEnum):
    """For an unknown outcome: did the gateway get the request?"""

    NOT_SENT = "certainly not sent"
    MAYBE_DELIVERED = "maybe delivered"
    DELIVERED = "delivered"  # a verified U answer: the gateway has it but has not decided


@dataclass(frozen=True)
class Outcome:
    status: Status
    result_code: str = ""
    message: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)
    delivery: Delivery | None = None
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.SUCCESS

    def to_json(self) -> dict:
        return {"status": self.status.value, "resultCode": self.result_code, "message": self.message,
                "delivery": self.delivery.value if self.delivery else None, "httpStatus": self.http_status,
                "body": dict(self.body)}
