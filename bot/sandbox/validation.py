"""Telegram's text rules: parse_mode parsing, entity offsets, length limits and keyboards.

The parsers follow TDLib's (the library behind the Bot API) so that the refusals carry the
same wording, e.g. ``Unsupported start tag "xyz" at byte offset 3``. Offsets in entities are
UTF-16 code units, byte offsets in errors are UTF-8 bytes, as in Telegram.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_INLINE_BUTTONS = 100

HTML_TAGS = frozenset(
    "b strong i em u ins s strike del a code pre span tg-spoiler blockquote tg-emoji".split()
)
_HTML_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"


class EntityParseError(Exception):
    """A parse_mode error; the Bot API prefixes it with ``can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts limits and offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text while tracking the UTF-16 position."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    tag: str
    start: int
    byte_offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    language: str | None = None


def _make_entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    entity.update({k: v for k, v in extra.items() if v is not None})
    return entity


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into plain text and entities, or raise EntityParseError."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            match = _ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(match.group(1)) if match else None
            if match and decoded is not None:
                out.add(decoded)
                i = match.end()
                continue
            out.add("&")
            i += 1
            continue
        if ch != "<":
            out.add(ch)
            i += 1
            continue
        begin = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
            top = stack[-1]
            if name and name != top.tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
            _close_html_entity(top, out.pos, stack, entities)
            i = end + 1
            continue
        # Start tag: TDLib reads the name up to whitespace or '>' (so "a < b" fails with "").
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        name = text[i + 1 : j].lower()
        if name not in HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
        attrs, j = _parse_attributes(text, j, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {begin}'
            )
        stack.append(_Open(name, out.pos, begin, attrs))
        i = j + 1
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"'
        )
    return out.text(), _sort_entities(entities)


def _decode_html_entity(body: str) -> str | None:
    if body.startswith("#"):
        try:
            code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
            return chr(code) if 0 < code <= 0x10FFFF else None
        except ValueError:
            return None
    return _NAMED_ENTITIES.get(body)


def _parse_attributes(text: str, j: int, begin: int) -> tuple[dict[str, str], int]:
    """Read ``name="value"`` pairs up to the closing '>'; return them and the '>' index."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if text[j] == ">":
            return attrs, j
        k = j
        while k < n and not text[k].isspace() and text[k] not in "=>":
            k += 1
        name = text[j:k].lower()
        value = ""
        while k < n and text[k].isspace():
            k += 1
        if k < n and text[k] == "=":
            k += 1
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            if text[k] in "\"'":
                quote = text[k]
                end = text.find(quote, k + 1)
                if end == -1:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                value = html.unescape(text[k + 1 : end])
                k = end + 1
            else:
                end = k
                while end < n and not text[end].isspace() and text[end] != ">":
                    end += 1
                value = html.unescape(text[k:end])
                k = end
        if name:
            attrs[name] = value
        j = k


def _close_html_entity(
    top: _Open, pos: int, stack: list[_Open], entities: list[dict[str, Any]]
) -> None:
    length = pos - top.start
    if top.tag == "code" and stack and stack[-1].tag == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
        css = top.attrs.get("class", "")
        if css.startswith("language-"):
            stack[-1].language = css[len("language-"):]
        return
    if length <= 0:
        return
    kind = _HTML_ENTITY_TYPE[top.tag]
    extra: dict[str, Any] = {}
    if kind == "pre":
        extra["language"] = top.language
    elif kind == "text_link":
        href = top.attrs.get("href", "")
        if not href:
            return
        extra["url"] = href
    elif kind == "custom_emoji":
        extra["custom_emoji_id"] = top.attrs.get("emoji-id")
    elif kind == "blockquote" and "expandable" in top.attrs:
        kind = "expandable_blockquote"
    entities.append(_make_entity(kind, top.start, length, **extra))


_MDV2_END_CHECK = {
    "bold": lambda t, i: t[i] == "*",
    "italic": lambda t, i: t[i] == "_" and t[i + 1 : i + 2] != "_",
    "code": lambda t, i: t[i] == "`",
    "pre": lambda t, i: t.startswith("```", i),
    "text_link": lambda t, i: t[i] == "]",
    "custom_emoji": lambda t, i: t[i] == "]",
    "underline": lambda t, i: t.startswith("__", i),
    "strikethrough": lambda t, i: t[i] == "~",
    "spoiler": lambda t, i: t.startswith("||", i),
}


def _reserved(ch: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
    )


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into plain text and entities, or raise EntityParseError."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    quote_start: int | None = None
    quote_expandable = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        in_code = bool(stack) and stack[-1].tag in ("code", "pre")
        line_start = i == 0 or text[i - 1] == "\n"
        if line_start and not in_code:
            if ch == ">" or text.startswith("**>", i):
                if quote_start is None:
                    quote_start = out.pos
                    quote_expandable = text.startswith("**>", i)
                i += 3 if text.startswith("**>", i) else 1
                continue
            if quote_start is not None:
                _close_quote(entities, quote_start, out.pos - 1, quote_expandable)
                quote_start = None
        if ch == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if in_code and ch != "`":
            out.add(ch)
            i += 1
            continue
        if ch not in MARKDOWN_V2_RESERVED:
            out.add(ch)
            i += 1
            continue
        if (
            quote_start is not None
            and quote_expandable
            and text.startswith("||", i)
            and text[i + 2 : i + 3] in ("", "\n")
            and not (stack and stack[-1].tag == "spoiler")
        ):
            # "||" closing an expandable block quote line.
            i += 2
            continue
        top = stack[-1] if stack else None
        if top is not None and _MDV2_END_CHECK[top.tag](text, i):
            stack.pop()
            i = _close_markdown_v2(text, i, top, out.pos, entities)
            continue
        begin = _byte_offset(text, i)
        nxt = text[i + 1 : i + 2]
        language = None
        if ch == "_":
            tag = "underline" if nxt == "_" else "italic"
            i += 2 if nxt == "_" else 1
        elif ch == "*":
            tag, i = "bold", i + 1
        elif ch == "~":
            tag, i = "strikethrough", i + 1
        elif ch == "|" and nxt == "|":
            tag, i = "spoiler", i + 2
        elif ch == "[":
            tag, i = "text_link", i + 1
        elif ch == "!" and nxt == "[":
            tag, i = "custom_emoji", i + 2
        elif ch == "`":
            if text.startswith("```", i):
                tag, i = "pre", i + 3
                end = i
                while end < n and not text[end].isspace() and text[end] != "`":
                    end += 1
                if end != i and end < n and text[end] != "`":
                    language, i = text[i:end], end
                if i < n and text[i] in "\r\n":
                    # Skip one line break after the opening fence ("\r\n" counts as one).
                    pair = text[i + 1 : i + 2]
                    i += 2 if pair in ("\r", "\n") and pair != text[i] else 1
            else:
                tag, i = "code", i + 1
        else:
            raise _reserved(ch)
        stack.append(_Open(tag, out.pos, begin, language=language))
    if stack:
        raise EntityParseError(
            f"Can't find end of the entity starting at byte offset {stack[-1].byte_offset}"
        )
    if quote_start is not None:
        _close_quote(entities, quote_start, out.pos, quote_expandable)
    return out.text(), _sort_entities(entities)


def _close_quote(entities: list[dict[str, Any]], start: int, end: int, expandable: bool) -> None:
    if end > start:
        kind = "expandable_blockquote" if expandable else "blockquote"
        entities.append(_make_entity(kind, start, end - start))


def _close_markdown_v2(
    text: str, i: int, top: _Open, pos: int, entities: list[dict[str, Any]]
) -> int:
    """Finish the entity whose closing marker is at ``i``; return the next index."""
    extra: dict[str, Any] = {}
    if top.tag in ("text_link", "custom_emoji"):
        url = None
        if text[i + 1 : i + 2] == "(":
            j = i + 2
            chars: list[str] = []
            while j < len(text) and text[j] != ")":
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= len(text):
                raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}")
            url = "".join(chars)
            i = j
        if top.tag == "custom_emoji":
            emoji_id = (url or "").partition("tg://emoji?id=")[2]
            if not emoji_id:
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            extra["custom_emoji_id"] = emoji_id
        elif url:
            extra["url"] = url
        else:
            top = _Open("", top.start, top.byte_offset)  # "[text]" without a URL: no entity
    elif top.tag == "pre":
        i += 2
        extra["language"] = top.language
    elif top.tag in ("underline", "spoiler"):
        i += 1
    length = pos - top.start
    if top.tag and length > 0:
        entities.append(_make_entity(top.tag, top.start, length, **extra))
    return i + 1


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown (no nesting) into plain text and entities."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(text[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        begin = _byte_offset(text, i)
        end_char = "]" if ch == "[" else ch
        is_pre = False
        language = None
        i += 1
        if ch == "`" and text.startswith("``", i):
            is_pre = True
            i += 2
            end = i
            while end < n and not text[end].isspace() and text[end] != "`":
                end += 1
            if end != i and end < n and text[end] != "`":
                language, i = text[i:end], end
            if text[i : i + 1] == "\n":
                i += 1  # the line break after the opening fence is not part of the code
        start = out.pos
        while i < n and not (
            text[i] == end_char and (not is_pre or text.startswith("```", i))
        ):
            out.add(text[i])
            i += 1
        if i >= n:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        length = out.pos - start
        if is_pre:
            i += 3
            if length:
                entities.append(_make_entity("pre", start, length, language=language))
            continue
        i += 1
        if ch == "[":
            if text[i : i + 1] == "(":
                end = text.find(")", i)
                if end != -1:
                    url = text[i + 1 : end]
                    i = end + 1
                    if length and url:
                        entities.append(_make_entity("text_link", start, length, url=url))
            continue
        if length:
            kind = {"_": "italic", "*": "bold", "`": "code"}[ch]
            entities.append(_make_entity(kind, start, length))
    return out.text(), _sort_entities(entities)


def _sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_AUTO_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("url", re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def detect_entities(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the entities Telegram detects by itself (commands, URLs, mentions, hashtags, e-mails)."""
    found: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append(_make_entity(kind, start, end - start))
    return _sort_entities(list(existing) + found)


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, keeping entity offsets right."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def format_text(
    text: str,
    parse_mode: str | None,
    entities: Any,
    *,
    caption: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode (or explicit entities), trim, and enforce Telegram's length limits.

    Returns the plain text and its entities; raises ApiError with Telegram's description.
    """
    if entities is not None:
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
        plain, parsed = text, [dict(e) for e in entities]
    else:
        mode = (parse_mode or "").strip().lower()
        try:
            if mode == "":
                plain, parsed = text, []
            elif mode == "html":
                plain, parsed = parse_html(text)
            elif mode == "markdownv2":
                plain, parsed = parse_markdown_v2(text)
            elif mode == "markdown":
                plain, parsed = parse_markdown(text)
            else:
                raise bad_request("unsupported parse_mode")
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    plain, parsed = _strip(plain, parsed)
    if caption:
        if utf16_len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
    else:
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise bad_request("message is too long")
    return plain, detect_entities(plain, parsed)


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "login_url",
    "web_app",
    "copy_text",
)


def _valid_button_url(url: Any) -> bool:
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return parts.scheme in ("tg", "ton") or (not parts.scheme and "." in url)


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Check a reply_markup like Telegram; return it, or raise ApiError."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        total = 0
        for row in rows:
            for button in row:
                total += 1
                _validate_inline_button(button)
        if total > MAX_INLINE_BUTTONS:
            raise bad_request("too many inline buttons")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        for row in rows:
            for button in row:
                label = button.get("text") if isinstance(button, dict) else button
                if not isinstance(label, str):
                    raise bad_request("can't parse keyboard button: Field \"text\" must be of type String")
        return markup
    if "remove_keyboard" in markup or "force_reply" in markup:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton should be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Field \"text\" must be of type String")
    if not any(key in button for key in _INLINE_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _valid_button_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")


def inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a reply_markup that Telegram echoes on a Message (inline keyboards only)."""
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None

