"""The `kopdesk` command line (SPEC 12): one group, its commands in the modules of this package.

`core` holds the group and the commands that run the bot; `registry`, `catalogue`, `invites`,
`exports` and `pipeline` (`web`, `worker`) each add theirs through `register(main)`; `common` is what they all
do first (settings, migrations). Nothing here imports this package back.
"""

from __future__ import annotations

from bot.cli import catalogue, exports, invites, pipeline, registry
from bot.cli.core import main

for _module in (registry, pipeline, invites, catalogue, exports):
    _module.register(main)

__all__ = ["main"]
