/* The browser chat's text work, kept free of page state so it reads (and tests) on its own:
 * the page's own words in Indonesian and English, guessing the language the bot speaks,
 * splitting a long message the way Telegram's apps do, and rendering message entities.
 *
 * Entities become DOM nodes built with createElement/append: user and bot text is only ever
 * inserted as text nodes, never as HTML. Offsets count UTF-16 code units, as in the Bot API,
 * which is exactly how JavaScript strings index.
 */
(() => {
"use strict";

const WORDS = {
  id: {
    title: "KopDesk — obrolan sandbox",
    placeholder: "Tulis pesan…",
    send: "Kirim",
    hint: "Enter untuk mengirim · Shift+Enter untuk baris baru",
    bot: "bot",
    connecting: "menyambung…",
    offline: "terputus, menyambung ulang…",
    edited: "diubah",
    ok: "OK",
    you: "Anda",
    who_title: "Anda chat sebagai",
    user_id: "ID pengguna Telegram",
    name: "Nama depan",
    save: "Simpan",
    cancel: "Batal",
    new_user: "Pengguna baru",
    who_note: "Disimpan di peramban ini. Pengguna lain = obrolan lain dengan bot.",
    keyboard: "Tombol menu",
    empty: "Belum ada pesan. Ketuk Mulai, atau ketik /start KODE untuk mendaftar dengan kode undangan.",
    start: "Mulai",
    long: "{count} karakter: akan dikirim sebagai {parts} pesan (batas Telegram 4.096 per pesan).",
    failed: "Gagal mengirim ({error}). Teks yang belum terkirim tetap di kotak pesan.",
    unsupported: "Tombol jenis ini tidak didukung di sandbox.",
    copied: "Disalin.",
    photo: "Foto",
    document: "Dokumen",
    sticker: "Stiker",
    voice: "Pesan suara",
    spoiler: "Ketuk untuk melihat",
  },
  en: {
    title: "KopDesk — sandbox chat",
    placeholder: "Write a message…",
    send: "Send",
    hint: "Enter to send · Shift+Enter for a new line",
    bot: "bot",
    connecting: "connecting…",
    offline: "disconnected, reconnecting…",
    edited: "edited",
    ok: "OK",
    you: "You",
    who_title: "You are chatting as",
    user_id: "Telegram user ID",
    name: "First name",
    save: "Save",
    cancel: "Cancel",
    new_user: "New user",
    who_note: "Kept in this browser. Another user = another chat with the bot.",
    keyboard: "Menu buttons",
    empty: "No messages yet. Tap Start, or type /start CODE to register with an invite code.",
    start: "Start",
    long: "{count} characters: will be sent as {parts} messages (Telegram allows 4,096 per message).",
    failed: "Could not send ({error}). The unsent text stays in the message box.",
    unsupported: "This kind of button is not supported in the sandbox.",
    copied: "Copied.",
    photo: "Photo",
    document: "Document",
    sticker: "Sticker",
    voice: "Voice message",
    spoiler: "Tap to reveal",
  },
};

function translate(lang, key, values) {
  const table = WORDS[lang] || WORDS.id;
  let text = table[key] !== undefined ? table[key] : WORDS.id[key] !== undefined ? WORDS.id[key] : key;
  for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
  return text;
}

/* Which language is the bot speaking? The page follows it, so that after /bahasa English the
 * page's own words switch too. Telegram has no such signal (its apps follow the phone's
 * language), so the page counts frequent words of each language in what the bot sends and
 * switches only on a clear majority: a cooperative's Indonesian name inside an English message
 * does not flip it. */
const FREQUENT = {
  id: new Set(("dan yang anda untuk ini itu di ke dari dengan tidak silakan pilih bahasa bantuan " +
    "laporan tahunan batal dibatalkan ketik ketuk tombol apa mana selamat halo daftar profil tahun " +
    "kirim pertanyaan jawab jawaban lewati kembali anggota sudah belum akan bisa sekarang disimpan " +
    "baru atau pada adalah berapa mohon lanjutkan ulang terima kasih diubah jumlah nomor jabatan " +
    "undangan kode berhasil terdaftar perempuan laki modal usaha").split(" ")),
  en: new Set(("the and you your to of is are please choose select language set help report annual " +
    "cancel cancelled type tap from with for what which welcome hello register registration " +
    "profile year send question answer skip back members not this that here will has have been " +
    "was can now done saved new or on how many continue again thank thanks changed number " +
    "position invite code registered women men capital business").split(" ")),
};

function detectLanguage(text) {
  const words = String(text || "").toLowerCase().match(/[a-z]+/g) || [];
  let id = 0, en = 0;
  for (const word of words) {
    if (FREQUENT.id.has(word)) id += 1;
    if (FREQUENT.en.has(word)) en += 1;
  }
  if (id >= 2 && id >= 2 * en) return "id";
  if (en >= 2 && en >= 2 * id) return "en";
  return null;
}

/* Telegram's apps send a text over 4,096 characters as several messages. Cut at a paragraph,
 * line or word break in the second half of the window, else hard at the limit (never inside a
 * surrogate pair); the one whitespace character cut at is the only thing dropped. */
const MAX_MESSAGE = 4096;

function splitText(text, limit = MAX_MESSAGE) {
  const parts = [];
  let rest = String(text);
  while (rest.length > limit) {
    const head = rest.slice(0, limit + 1);
    let cut = -1, skip = 0;
    for (const sep of ["\n\n", "\n", " "]) {
      const at = head.lastIndexOf(sep);
      if (at > limit / 2 && at + sep.length <= limit + 1) { cut = at; skip = sep.length; break; }
    }
    if (cut < 0) {
      cut = limit;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    const part = rest.slice(0, cut);
    if (part.trim()) parts.push(part);
    rest = rest.slice(cut + skip);
  }
  if (rest.trim()) parts.push(rest);
  return parts;
}

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:", "tel:", "tg:"]);

function safeHref(raw) {
  try {
    const url = new URL(raw);
    return SAFE_SCHEMES.has(url.protocol) ? url.href : null;
  } catch (err) {
    return null;
  }
}

function link(href, className) {
  const safe = safeHref(href);
  const node = document.createElement(safe ? "a" : "span");
  if (safe) {
    node.href = safe;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  }
  if (className) node.className = className;
  return node;
}

/* One element per entity: {outer} goes into the parent, the entity's text goes into {inner}. */
function elementFor(entity, text, actions) {
  const make = (tag, className) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return {outer: node, inner: node};
  };
  switch (entity.type) {
    case "bold": return make("b");
    case "italic": return make("i");
    case "underline": return make("u");
    case "strikethrough": return make("s");
    case "code": return make("code");
    case "pre": {
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      if (entity.language) code.dataset.language = entity.language;
      pre.append(code);
      return {outer: pre, inner: code};
    }
    case "blockquote": return make("blockquote");
    case "expandable_blockquote": {
      const parts = make("blockquote", "expandable");
      parts.outer.addEventListener("click", () => parts.outer.classList.toggle("open"));
      return parts;
    }
    case "spoiler": {
      const parts = make("span", "spoiler");
      parts.outer.title = actions.t("spoiler");
      parts.outer.addEventListener("click", () => parts.outer.classList.add("shown"));
      return parts;
    }
    case "text_link": { const node = link(entity.url); return {outer: node, inner: node}; }
    case "url": {
      const node = link(/^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `http://${text}`);
      return {outer: node, inner: node};
    }
    case "email": { const node = link(`mailto:${text}`); return {outer: node, inner: node}; }
    case "phone_number": { const node = link(`tel:${text.replace(/[^+0-9]/g, "")}`); return {outer: node, inner: node}; }
    case "mention": { const node = link(`https://t.me/${text.slice(1)}`); return {outer: node, inner: node}; }
    case "bot_command": {
      const parts = make("a", "command");
      parts.outer.href = "#";
      parts.outer.addEventListener("click", (ev) => { ev.preventDefault(); actions.command(text); });
      return parts;
    }
    case "hashtag": case "cashtag": case "text_mention": return make("span", "tag");
    default: return make("span");
  }
}

/* Text plus entities → a DocumentFragment. Entities nest; one that would cross its parent's
 * end is cut there. Every character of the text is appended exactly once, formatted or not. */
function renderEntities(text, entities, actions) {
  text = String(text || "");
  const list = (entities || [])
    .filter((e) => e && e.length > 0 && e.offset >= 0 && e.offset < text.length)
    .map((e) => Object.assign({}, e, {end: Math.min(text.length, e.offset + e.length)}))
    .sort((a, b) => a.offset - b.offset || b.end - a.end);
  const root = document.createDocumentFragment();
  let next = 0;
  const build = (parent, start, end) => {
    let pos = start;
    while (next < list.length && list[next].offset < end) {
      const entity = list[next++];
      if (entity.offset < pos) continue;  // crossed a sibling: its text is already placed
      if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
      const stop = Math.min(entity.end, end);
      const node = elementFor(entity, text.slice(entity.offset, stop), actions);
      parent.append(node.outer);
      build(node.inner, entity.offset, stop);
      pos = stop;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  };
  build(root, 0, text.length);
  return root;
}

window.ChatText = {WORDS, translate, detectLanguage, splitText, renderEntities, MAX_MESSAGE};
})();
