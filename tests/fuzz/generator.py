"""Seeded generator of Telegram updates for the fuzz test: every kind, hostile content.

Every decision comes from one `random.Random(seed)`, so a seed names one sequence of choices.
What the bot really sent (buttons to press, messages to edit) is passed in as a `World`
snapshot; the generator picks among it by index with the same RNG. The resulting sequence is
therefore fixed by the seed and by what the bot answered (which the run records).

The generator builds raw Bot API objects (the sandbox's `POST /_sandbox/updates` queues them as
they are), except photos, documents, stickers and voice notes, which go through the sandbox's
user route so that their files exist for getFile. Payloads follow the Bot API schema the
installed python-telegram-bot parses (tests/fuzz/test_generator.py checks every kind).
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import t
from tests.fuzz.content import (  # noqa: F401  (ANONYMOUS_ADMIN and fit are used by the run)
    ANONYMOUS_ADMIN, COMMANDS, EMOJI, HOSTILE, MENU_KEYS, PLAIN, REGISTRY_ARGS, STAFF_COMMANDS, fit,
    user_object,
)

@dataclass
class Cast:
    """Who takes part: ids of people, bots and chats."""

    bot_username: str
    admin: int
    officers_chat: int
    managers: list[int]
    guests: list[int]
    bots: list[int] = field(default_factory=lambda: [8301, 8302])
    # Many groups, so that none gets more than Telegram's 20 messages a minute from a bot that
    # (wrongly) answers there: the run would otherwise measure the group limit's queue.
    groups: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": -4001 - i, "type": "group", "title": f"Warga Desa <i> {i}"} if i % 2 else
        {"id": -1004100 - i, "type": "supergroup", "title": f"Forum & Koperasi {{{{{i}}}}}"}
        for i in range(10)
    ])
    channel: dict[str, Any] = field(
        default_factory=lambda: {"id": -1004003, "type": "channel", "title": "Kabar Dinas", "username": "kabardinas"}
    )

    @property
    def officers_group(self) -> dict[str, Any]:
        return {"id": self.officers_chat, "type": "supergroup", "title": "Petugas Koperasi"}

    @property
    def humans(self) -> list[int]:
        return [self.admin, *self.managers, *self.guests]


@dataclass
class World:
    """What the bot sent so far, per chat: the messages (current state) the sandbox reports."""

    bot_messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    user_messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def inline_buttons(self, chat_id: int) -> list[tuple[int, str]]:
        """(message_id, callback_data) of every inline button the bot sent to the chat."""
        found = []
        for message in self.bot_messages.get(chat_id, []):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                found += [(message["message_id"], b["callback_data"]) for b in row if "callback_data" in b]
        return found


@dataclass
class Action:
    """One thing to send: a raw update, a media message through the user route, or a press."""

    kind: str  # "raw", "media", "press", "duplicate"
    update: dict[str, Any] | None = None
    user: int | None = None
    media: str | None = None
    chat: dict[str, Any] | None = None
    message_id: int | None = None
    data: str | None = None
    chat_id: int | None = None


class Generator:
    """Seeded source of varied updates (see module docstring)."""

    def __init__(self, seed: int, cast: Cast) -> None:
        self.rng = random.Random(seed)
        self.cast = cast
        self.counter = 0
        self.menu = [t(lang, f"menu.{key}") for lang in ("id", "en") for key in MENU_KEYS]

    # ---- content ---------------------------------------------------------------------------

    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.30:
            return rng.choice(PLAIN)
        if roll < 0.55:
            return rng.choice(HOSTILE)
        if roll < 0.62:
            return self.huge()
        if roll < 0.80:
            return self.command()
        if roll < 0.92:
            return rng.choice(self.menu)
        alphabet = string.ascii_letters + string.digits + string.punctuation + " éñ€👍<&>{}"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))).strip() or "x"

    def huge(self) -> str:
        """Exactly Telegram's limit of 4,096 UTF-16 units, hostile in places."""
        unit = self.rng.choice(["A", "<b>&", "{{x}}", "ذ", "é"])
        text = (unit * 4096)[:4096]
        return text if self.rng.random() < 0.7 else ("😀" * 2048)  # emoji count twice in UTF-16

    def command(self, *, addressed: bool | None = None) -> str:
        rng = self.rng
        name = rng.choice(COMMANDS)
        if addressed is None:
            addressed = rng.random() < 0.3
        suffix = f"@{self.cast.bot_username}" if addressed else ("@other_bot" if rng.random() < 0.05 else "")
        args = ""
        roll = rng.random()
        if roll < 0.4:
            args = " " + rng.choice(["ABCD2345", "ZZZZ2222", "abc", "1", "-1", "x" * 300, "KSP", "Amarasi",
                                     "Tunas", "DEMO-0001", "DEMO-0002/BH/5301/1990", "koperasi",
                                     "1 aktif", "DEMO-0001 tidak_aktif bubar", "add 777 --name X"])
        elif roll < 0.52:
            args = " " + rng.choice(HOSTILE).strip()
        elif roll < 0.56:
            args = " " + "q" * 4000
        return f"/{name}{suffix}{args}"[:4096].rstrip() or "/start"

    # ---- builders ------------------------------------------------------------------------

    def _date(self) -> int:
        self.counter += 1
        return 1_764_547_200 + self.counter  # fixed base: payloads do not depend on the wall clock

    def message(self, sender: dict[str, Any] | None, chat: dict[str, Any], *, text: str | None = None,
                sender_chat: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"date": self._date(), "chat": chat}
        if sender is not None:
            message["from"] = sender
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0].encode("utf-16-le")) // 2
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message.update(extra)
        return message

    def private_chat(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": user_object(user_id, self.rng)["first_name"]}

    def human(self, user_id: int) -> dict[str, Any]:
        return user_object(user_id, self.rng)

    def other_content(self, *, group: bool = False) -> dict[str, Any]:
        """Content other than text and files; service messages only where Telegram has them."""
        rng = self.rng
        service = [
            {"new_chat_members": [user_object(rng.choice(self.cast.guests), rng)]},
            {"left_chat_member": user_object(rng.choice(self.cast.guests), rng)},
            {"new_chat_title": "Judul {{baru}}"},
            {"pinned_message": {"chat": {"id": 1, "type": "private", "first_name": "x"}, "message_id": 1, "date": 0}},
        ] if group else []
        return rng.choice(service + [
            {"location": {"latitude": -10.17, "longitude": 123.6}},
            {"contact": {"phone_number": rng.choice(["+6281234567890", "081234", "<b>"]), "first_name": "Ana",
                         "user_id": rng.choice(self.cast.humans)}},
            {"dice": {"emoji": "🎲", "value": rng.randint(1, 6)}},
            {"venue": {"location": {"latitude": -10.1, "longitude": 123.5}, "title": "Kantor <Dinas>",
                       "address": "Jl. & Co"}},
        ])

    def private_message(self, user_id: int) -> Action:
        """A human writes to the bot: text, media through the user route, or other content."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.12:
            return Action("media", user=user_id, media=rng.choice(["photo", "document", "sticker", "voice"]))
        chat = self.private_chat(user_id)
        if roll < 0.18:
            return self.raw("message", self.message(self.human(user_id), chat, **self.other_content()))
        if user_id == self.cast.admin and roll < 0.35:  # an officer at work: searches, invites, statuses
            text = f"/{rng.choice(STAFF_COMMANDS)} {rng.choice(REGISTRY_ARGS)}"
            return self.raw("message", self.message(self.human(user_id), chat, text=text))
        return self.raw("message", self.message(self.human(user_id), chat, text=self.text()))

    def group_message(self) -> Action:
        """Someone writes in a group: a person, a bot, or the anonymous admin; maybe to the bot."""
        rng = self.rng
        cast = self.cast
        chat = cast.officers_group if rng.random() < 0.15 else rng.choice(cast.groups)
        roll = rng.random()
        sender_chat = None
        if roll < 0.55:
            sender = self.human(rng.choice(cast.humans))
        elif roll < 0.75:
            sender = user_object(rng.choice(cast.bots), rng, is_bot=True)
        else:
            sender, sender_chat = ANONYMOUS_ADMIN, chat
        text = self.command(addressed=True) if rng.random() < 0.35 else self.text()
        if rng.random() < 0.1:
            return self.raw("message", self.message(sender, chat, sender_chat=sender_chat,
                                                    **self.other_content(group=True)))
        return self.raw("message", self.message(sender, chat, text=text, sender_chat=sender_chat))

    def bot_private_message(self) -> Action:
        """Another bot in its own private chat with ours (Telegram forbids it; the bot must ignore it)."""
        bot_id = self.rng.choice(self.cast.bots)
        chat = {"id": bot_id, "type": "private", "first_name": "Helper"}
        return self.raw("message", self.message(user_object(bot_id, self.rng, is_bot=True), chat, text=self.text()))

    def channel_post(self, world: World) -> Action:
        channel = self.cast.channel
        if self.rng.random() < 0.3 and world.user_messages.get(channel["id"]):
            old = self.rng.choice(world.user_messages[channel["id"]])
            edited = dict(old, text=self.text(), edit_date=self._date())
            edited.pop("entities", None)
            return self.raw("edited_channel_post", edited)
        return self.raw("channel_post", self.message(None, channel, text=self.text(), sender_chat=channel))

    def edit(self, world: World) -> Action | None:
        """Edit an earlier text message (private or group) into something else."""
        chats = [c for c, msgs in world.user_messages.items() if msgs and c != self.cast.channel["id"]]
        if not chats:
            return None
        old = self.rng.choice(world.user_messages[self.rng.choice(sorted(chats))])
        if "text" not in old or "from" not in old:
            return None
        text = self.rng.choice(["15/03/2025", "/profile", "/start", "halo", self.text()])
        edited = dict(old, text=text, edit_date=self._date())
        edited.pop("entities", None)
        return self.raw("edited_message", edited)

    def real_press(self, world: World, user_id: int, *, stale_ok: bool = True) -> Action | None:
        """Press a button the bot really sent to this user (the newest keyboard, or any older one)."""
        buttons = world.inline_buttons(user_id)
        if not buttons:
            return None
        if not stale_ok or self.rng.random() < 0.7:
            newest = max(mid for mid, _ in buttons)
            buttons = [b for b in buttons if b[0] == newest]
        message_id, data = self.rng.choice(buttons)
        return Action("press", user=user_id, message_id=message_id, data=data)

    def forged_press(self, world: World, user_id: int, donors: list[int]) -> Action:
        """Callback data nobody was given: random, a trailing newline, huge ids, someone else's."""
        rng = self.rng
        own = world.inline_buttons(user_id)
        theirs = [b for d in donors for b in world.inline_buttons(d)]
        message_id = rng.choice(own)[0] if own else rng.randint(1, 50)
        newest = [b for b in own if b[0] == max(mid for mid, _ in own)] if own else []
        pool = newest if newest and rng.random() < 0.5 else (theirs or own)
        sample = rng.choice(pool or [(0, "rp:year:1:2024")])[1]
        roll = rng.random()
        if roll < 0.2:
            data = "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 64)))
        elif roll < 0.4:
            data = sample + "\n"
        elif roll < 0.6:
            data = re.sub(r"\d+", lambda _: rng.choice(["999999999", "99999999999999999999", "0", "-1"]), sample)
        elif roll < 0.8:
            data = sample  # another user's real button, on this user's message
        else:
            data, message_id = sample, 10_000 + rng.randint(0, 999)  # a message that does not exist
        return Action("press", user=user_id, message_id=message_id, data=data[:64] or "x")

    def inline_callback(self, world: World) -> Action:
        """A button of a message sent via inline mode: no `message`, an `inline_message_id`."""
        rng = self.rng
        user = rng.choice(self.cast.humans)
        buttons = [b for u in self.cast.humans for b in world.inline_buttons(u)]
        data = rng.choice(buttons)[1] if buttons and rng.random() < 0.8 else "inv:1"
        query = {"id": str(rng.getrandbits(62)), "from": self.human(user), "inline_message_id": f"AgAAA{rng.getrandbits(40):x}",
                 "chat_instance": str(rng.getrandbits(40)), "data": data}
        return self.raw("callback_query", query)

    def other_kind(self, world: World) -> Action:
        """One of the update kinds that are neither messages nor callbacks."""
        rng, cast = self.rng, self.cast
        user = self.human(rng.choice(cast.humans))
        group = rng.choice([*cast.groups, cast.officers_group])
        uid = str(rng.getrandbits(48))
        member = {"status": "member", "user": user}
        left = {"status": "left", "user": user}
        me = {"id": 123456, "is_bot": True, "first_name": "KopDesk", "username": cast.bot_username}
        target_chat = rng.choice([group, self.private_chat(user["id"])])
        kinds = {
            "my_chat_member": lambda: {"chat": target_chat, "from": user, "date": self._date(),
                                       "old_chat_member": {"status": "member", "user": me},
                                       "new_chat_member": rng.choice([{"status": "kicked", "user": me, "until_date": 0},
                                                                      {"status": "left", "user": me}])},
            "chat_member": lambda: {"chat": group, "from": user, "date": self._date(),
                                    "old_chat_member": rng.choice([member, left]),
                                    "new_chat_member": rng.choice([member, left])},
            "chat_join_request": lambda: {"chat": group, "from": user, "date": self._date(),
                                          "user_chat_id": user["id"], "bio": "<b>saya</b>"},
            "message_reaction": lambda: {"chat": target_chat, "message_id": rng.randint(1, 40), "date": self._date(),
                                         "user": user, "old_reaction": [],
                                         "new_reaction": [{"type": "emoji", "emoji": rng.choice(EMOJI)}]},
            "message_reaction_count": lambda: {"chat": group, "message_id": rng.randint(1, 40), "date": self._date(),
                                               "reactions": [{"type": {"type": "emoji", "emoji": "👍"},
                                                              "total_count": rng.randint(1, 9)}]},
            "poll": lambda: {"id": uid, "question": "Rapat <kapan>?", "total_voter_count": 1, "is_closed": False,
                             "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                             "allows_revoting": False, "members_only": False,
                             "options": [{"text": "Senin", "voter_count": 1, "persistent_id": "a"},
                                         {"text": "{{x}}", "voter_count": 0, "persistent_id": "b"}]},
            "poll_answer": lambda: {"poll_id": uid, "user": user, "option_ids": [0], "option_persistent_ids": ["a"]},
            "inline_query": lambda: {"id": uid, "from": user, "query": self.text()[:256], "offset": "",
                                     "chat_type": "sender"},
            "chosen_inline_result": lambda: {"result_id": "1", "from": user, "query": self.text()[:256]},
            "shipping_query": lambda: {"id": uid, "from": user, "invoice_payload": "x",
                                       "shipping_address": {"country_code": "ID", "state": "NTT", "city": "Kupang",
                                                            "street_line1": "Jl. <1>", "street_line2": "",
                                                            "post_code": "85111"}},
            "pre_checkout_query": lambda: {"id": uid, "from": user, "currency": "IDR", "total_amount": 10000,
                                           "invoice_payload": "{{p}}"},
            "business_connection": lambda: {"id": uid, "user": user, "user_chat_id": user["id"],
                                            "date": self._date(), "is_enabled": rng.random() < 0.5},
            "business_message": lambda: self.message(user, self.private_chat(user["id"]), text=self.text(),
                                                     business_connection_id=uid),
            "edited_business_message": lambda: dict(
                self.message(user, self.private_chat(user["id"]), text=self.text(), business_connection_id=uid),
                message_id=rng.randint(1, 30), edit_date=self._date()),
            "deleted_business_messages": lambda: {"business_connection_id": uid,
                                                  "chat": self.private_chat(user["id"]), "message_ids": [1, 2]},
            "chat_boost": lambda: {"chat": cast.channel, "boost": {
                "boost_id": uid, "add_date": self._date(), "expiration_date": self._date() + 86400,
                "source": {"source": "premium", "user": user}}},
            "removed_chat_boost": lambda: {"chat": cast.channel, "boost_id": uid, "remove_date": self._date(),
                                           "source": {"source": "premium", "user": user}},
            "purchased_paid_media": lambda: {"from": user, "paid_media_payload": "<b>"},
            "managed_bot": lambda: {"user": user, "bot": user_object(cast.bots[0], rng, is_bot=True)},
            "guest_message": lambda: self.message(user, group, text=self.text()),
        }
        kind = rng.choice(sorted(kinds))
        return self.raw(kind, kinds[kind]())

    def raw(self, kind: str, payload: dict[str, Any]) -> Action:
        return Action("raw", update={kind: payload})

    # ---- the mix -------------------------------------------------------------------------

    def next(self, world: World, *, senders: list[int], donors: list[int]) -> Action:
        """The next random action; `senders` write privately, `donors` lend their buttons to forgers."""
        rng = self.rng
        roll = rng.random()
        # Staff and managers reach the deeper paths: they write as often as three guests each.
        weights = [1 if u in self.cast.guests else 3 for u in senders]
        user = rng.choices(senders, weights)[0]
        action: Action | None = None
        if roll < 0.36 and world.inline_buttons(user) and rng.random() < 0.15:
            # Inside a conversation: skip, cancel, or a menu button instead of an answer.
            text = rng.choice(["/lewati", "/skip", "/batal", "/cancel", *self.menu])
            action = self.raw("message", self.message(self.human(user), self.private_chat(user), text=text))
        elif roll < 0.36:
            action = self.private_message(user)
        elif roll < 0.52:
            action = self.real_press(world, user)
        elif roll < 0.59:
            action = self.forged_press(world, user, donors)
        elif roll < 0.61:
            action = self.inline_callback(world)
        elif roll < 0.69:
            action = self.group_message()
        elif roll < 0.73:
            action = self.channel_post(world)
        elif roll < 0.79:
            action = self.edit(world)
        elif roll < 0.81:
            action = self.bot_private_message()
        elif roll < 0.96:
            action = self.other_kind(world)
        else:
            action = Action("duplicate")
        return action or self.private_message(user)
