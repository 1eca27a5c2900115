"""The update pipeline: receive → log → claim → handle → commit.

Two shapes, one guarantee (an update is durable in `inbound_updates` before any handler runs,
and "handled" commits with its handlers' work):

**One process** (`kopdesk run`: long polling or PTB's webhook, SQLite or PostgreSQL).
PTB's updater receives; `bot.tg.application.InboundBatcher` logs every update of a fetch in one
transaction; `PerChatUpdateProcessor` keeps one chat's updates in order; the update's handlers
run in its unit of work (`KopDeskApplication.process_update`), which writes "handled" last.

**A deployment** (PostgreSQL; `kopdesk web` behind a load balancer, any number of
`kopdesk worker`):

1. `ingress` — receive: the webhook receiver checks Telegram's secret token, inserts the update
   with its chat as `queue_key` (a redelivery is a no-op: update id and payload are unique),
   commits, notifies the workers (`NOTIFY kopdesk_inbound`) and answers 200. Nothing else.
2. `worker` — claim: each worker listens for that notice (and polls once a second), looks for
   chats with waiting updates, holds a chat with an advisory lock on its own connection, and
   takes that chat's oldest waiting update (`storage.repositories.inbound_queue`).
3. handle and commit: the same `KopDeskApplication.process_update` as in one process, in the
   update's own transaction; conversation states are read from the database for the update
   (`handlers.one_conversation.load_states`), so any worker can continue any conversation.
4. release: the chat's lock goes after the commit; the worker looks for the chat's next update.

A worker killed mid-update: its transaction rolls back, its connection and locks go, and
another worker takes the update again (each take counts an attempt; after MAX_ATTEMPTS it is
given up and logged). Scheduled work runs once per deployment (`bot.tg.ticks`, a lease), the
outbox is shared by every worker's delivery engine, and the send budget is split between the
live processes (`bot.delivery.runner.keep_budget_share`).
"""
