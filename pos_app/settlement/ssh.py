"""asyncssh, imported once and quietly.

asyncssh still names DSA keys, which cryptography deprecates with a warning at import time; a cashier's
command line or a manager's window must not print that. Imported lazily: only SFTP work pays for it.
"""

from __future__ import annotations

import warnings
from types import ModuleType


def asyncssh() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import asyncssh as module
    return module
