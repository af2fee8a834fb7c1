"""pos-terminal: the core of an Alipay / Alipay+ checkout terminal. No GUI code lives here."""

__version__ = "0.1.0"
