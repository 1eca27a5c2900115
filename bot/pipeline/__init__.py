"""The update pipeline: receive → log → claim → handle → commit. Read it in this order:

- `ingress` — **receive** (`kopdesk web`): a webhook call is checked (secret token), its update
  stored with its chat as `queue_key` (a redelivery is a no-op: update id and payload are
  unique), committed, announced (`NOTIFY kopdesk_inbound`) and answered 200. Nothing else.
- `worker` — **claim** (`kopdesk worker`, PostgreSQL): a worker finds chats with waiting
  updates, the longest waiting first, holds a chat with an advisory lock on its own connection
  (skipping chats another worker holds) and takes that chat's oldest update
  (`storage.repositories.inbound_queue`); up to `concurrency` chats at once.
- `application` — **handle and commit**: `KopDeskApplication.process_update` runs the update's
  handlers in one transaction (its unit of work), after reading the chat's conversation states
  from the database (`handlers.one_conversation.load_states`, so any worker continues any
  conversation), and writes "handled" last, with the handlers' work. The chat's lock goes after
  the commit, and the worker looks at once for the chat's next update.
- `run` — starting and stopping those processes.

`kopdesk run` (one process, SQLite or PostgreSQL) is the same path without the queue: PTB's
updater receives; `application.InboundBatcher` logs every update of a fetch in one transaction
before any of them runs; `application.PerChatUpdateProcessor` keeps one chat's updates in order
with an in-process lock; the handling and the commit are the ones above. Its rows have no
`queue_key`, so workers never take them.

The guarantee is the same in both: an update is durable in `inbound_updates` before any handler
runs, and "handled" commits with its work. A process killed mid-update leaves the update
unhandled: `kopdesk run` replays it at start, a worker's update is taken by another worker
(each take counts an attempt; after `worker.MAX_ATTEMPTS` it is given up and logged).
Scheduled work runs once per deployment (`bot.tg.ticks`, a lease); the outbox is shared by every
process's delivery engine; the send budget is split between the live processes
(`bot.delivery.runner.keep_budget_share`).
"""
