"""What the log tests write and then look for: a payment code and the only form a log may show it in, a
private key that must never reach one, and the terminal's log file."""

from __future__ import annotations

from pos_app import logs

CODE = "281234567890123456"
MASKED = "28************3456"
PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
       "-----END PRIVATE KEY-----")


def read_log(data_dir) -> str:
    return (data_dir / "logs" / logs.FILE_NAME).read_text(encoding="utf-8")
