"""The delivery engine: the only road for anything sent to many people (SPEC 7).

Features put messages in the durable outbox with `enqueue` and read `progress`; the engine
(`bot.delivery.engine`, run by `kopdesk run` or `kopdesk worker`) sends them within Telegram's
limits and reports back through the reporter a feature registers for its source kind.
"""

from bot.delivery.outbox import Content, Progress, Recipient, enqueue, progress, reasons

__all__ = ["Content", "Progress", "Recipient", "enqueue", "progress", "reasons"]
