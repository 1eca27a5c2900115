"""A Telegram Bot API sandbox: a faithful local stand-in for api.telegram.org.

``Sandbox`` serves the Bot API methods KopDesk uses plus a control API (``/_sandbox``) that
lets tests act as any Telegram user; ``SandboxClient`` wraps that control API.
"""

from .client import SandboxClient
from .server import Sandbox

__all__ = ["Sandbox", "SandboxClient"]
