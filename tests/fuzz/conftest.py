"""The fuzz run uses the end-to-end fixtures: the real process against the sandbox."""

from tests.e2e.conftest import bot, bot_env, db  # noqa: F401  (fixtures)
