"""`python -m bot.cli`: the same as the `kopdesk` command."""

from bot.cli import main

main()
