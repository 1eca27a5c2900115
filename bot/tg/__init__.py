"""Telegram-facing infrastructure: the request layer, the application class, update processing."""
