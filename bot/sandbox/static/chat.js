/* The sandbox's browser chat: one Telegram user talking to the bot through the control API.
 *
 * Decisions:
 * - The conversation is rebuilt from the sandbox, not from the page: on load the page replays
 *   the chat's event stream from the start, the user's own messages included (incoming=1), then
 *   long-polls it. A reload therefore shows both sides as the sandbox holds them.
 * - Who the user is (id, first name) lives in localStorage, so a reload keeps the same user.
 * - The page's own words follow the language the bot speaks (see chat-text.js).
 * - Callback answers are shown as Telegram shows them: a toast that fades, or with show_alert a
 *   dialog the user dismisses.
 */
(() => {
"use strict";

const {translate, detectLanguage, splitText, renderEntities, MAX_MESSAGE} = window.ChatText;
const API = "/_sandbox";
const STORE = "kopdesk.sandbox.chat";
const $ = (id) => document.getElementById(id);
const log = $("log"), replyBar = $("reply"), input = $("text");

let me = loadIdentity();
let lang = me.lang || null;
let lastSeq = 0, generation = 0, replaying = false;
let keyboard = null, keyboardOpen = true;
const rows = new Map();  // message_id → row element (user and bot share one id sequence)
// Like Telegram's apps, "edited" marks a changed text, not a keyboard taken away.
const shownText = new Map(), rewritten = new Set();

function t(key, values) { return translate(lang || "id", key, values); }

function loadIdentity() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || "{}");
    if (Number.isInteger(saved.id) && saved.id > 0) return saved;
  } catch (err) { /* a damaged entry: start over */ }
  return {id: 1001, name: "Demo"};
}

function saveIdentity() { localStorage.setItem(STORE, JSON.stringify(Object.assign({}, me, {lang}))); }

async function call(method, path, body) {
  const res = await fetch(API + path, {
    method, headers: {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok || data.ok === false) throw new Error(data.error || res.statusText);
  return data;
}

// ---- the page's words ------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = lang || "id";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    el.title = t(el.dataset.i18nLabel);
  }
  updatePlaceholder();
  updateNotice();
}

function follow(language) {
  if (!language || language === lang) return;
  lang = language;
  saveIdentity();
  applyLanguage();
}

function updatePlaceholder() {
  // Like Telegram: a shown reply keyboard may bring the bot's own placeholder.
  const own = keyboard && keyboardOpen && keyboard.input_field_placeholder;
  input.placeholder = own || t("placeholder");
  input.setAttribute("aria-label", input.placeholder);
}

// ---- messages --------------------------------------------------------------------------------

function mediaLabel(m) {
  const raw = m.message || {};
  if (m.photo) { const p = m.photo[m.photo.length - 1]; return `🖼 ${t("photo")} ${p.width}×${p.height}`; }
  if (m.document) return `📄 ${m.document.file_name || t("document")}`;
  if (m.sticker) return `${m.sticker.emoji || "🙂"} ${t("sticker")}`;
  if (m.voice) return `🎤 ${t("voice")} 0:${String(m.voice.duration || 0).padStart(2, "0")}`;
  if (raw.contact) return `👤 ${raw.contact.phone_number}`;
  if (raw.location) return `📍 ${raw.location.latitude}, ${raw.location.longitude}`;
  return m.text == null && m.caption == null ? `[${m.method}]` : null;
}

function clock(epoch) {
  if (!epoch) return "";
  const at = new Date(epoch * 1000);
  return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
}

function bubbleFor(m) {
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const label = mediaLabel(m);
  if (label) {
    const media = document.createElement("div");
    media.className = "media";
    media.textContent = label;
    bubble.append(media);
  }
  const body = m.text != null ? m.text : m.caption;
  if (body) {
    const text = document.createElement("div");
    text.className = "text";
    text.append(renderEntities(body, m.entities, {t, command: (c) => sendText(c)}));
    bubble.append(text);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  if (rewritten.has(m.message_id)) {
    const edited = document.createElement("span");
    edited.dataset.i18n = "edited";
    edited.textContent = t("edited");
    meta.append(edited, " ");
  }
  meta.append(clock(m.date));
  bubble.append(meta);
  return bubble;
}

function inlineKeyboard(m) {
  const markup = m.reply_markup || {};
  if (!m.outgoing || !markup.inline_keyboard) return null;
  const kb = document.createElement("div");
  kb.className = "ikb";
  for (const row of markup.inline_keyboard) {
    const line = document.createElement("div");
    line.className = "ikb-row";
    for (const b of row) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.text;
      if (b.url) btn.classList.add("link");
      btn.addEventListener("click", () => press(m.message_id, b, btn));
      line.append(btn);
    }
    kb.append(line);
  }
  return kb;
}

function upsert(m) {
  const row = document.createElement("div");
  row.className = `row ${m.outgoing ? "in" : "out"}`;
  row.dataset.mid = m.message_id;
  const stack = document.createElement("div");
  stack.className = "stack";
  stack.append(bubbleFor(m));
  const kb = inlineKeyboard(m);
  if (kb) stack.append(kb);
  row.append(stack);
  const old = rows.get(m.message_id);
  if (old) {
    old.replaceWith(row);
  } else {
    // Keep message_id order: a bot reply may arrive before the answer to our own POST.
    let after = null;
    for (const [mid, el] of rows) if (mid > m.message_id && (!after || mid < after.mid)) after = {mid, el};
    log.insertBefore(row, after ? after.el : null);
  }
  rows.set(m.message_id, row);
  $("empty").hidden = true;
}

function remove(m) {
  const row = rows.get(m.message_id);
  if (row) { row.remove(); rows.delete(m.message_id); }
}

function setKeyboard(markup) {
  if (markup.keyboard) {
    keyboard = markup;
    keyboardOpen = true;
  } else if (markup.remove_keyboard) {
    keyboard = null;
  } else {
    return;
  }
  drawKeyboard();
}

function drawKeyboard() {
  replyBar.replaceChildren();
  $("kb-toggle").hidden = !keyboard;
  $("kb-toggle").classList.toggle("on", Boolean(keyboard && keyboardOpen));
  replyBar.hidden = !(keyboard && keyboardOpen);
  if (keyboard) {
    for (const row of keyboard.keyboard) {
      const line = document.createElement("div");
      line.className = "reply-row";
      for (const b of row) {
        const label = typeof b === "string" ? b : b.text;
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = label;
        btn.addEventListener("click", () => {
          if (keyboard && keyboard.one_time_keyboard) { keyboardOpen = false; drawKeyboard(); }
          sendText(label);
        });
        line.append(btn);
      }
      replyBar.append(line);
    }
  }
  updatePlaceholder();
}

function show(event) {
  const m = event.message;
  if (event.kind === "deleted") { remove(m); return; }
  const body = m.text != null ? m.text : m.caption;
  if (event.kind === "edited" && shownText.has(m.message_id) && shownText.get(m.message_id) !== body) {
    rewritten.add(m.message_id);
  }
  shownText.set(m.message_id, body);
  upsert(m);
  if (!m.outgoing) return;
  if (event.kind === "sent" && m.reply_markup) setKeyboard(m.reply_markup);
  const markup = m.reply_markup || {};
  const buttons = [].concat(...(markup.inline_keyboard || markup.keyboard || []))
    .map((b) => (typeof b === "string" ? b : b.text)).join(" ");
  follow(detectLanguage(`${m.text || m.caption || ""} ${buttons} ${markup.input_field_placeholder || ""}`));
}

function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 120; }
function toBottom() { log.scrollTop = log.scrollHeight; }

// ---- toasts and alerts -----------------------------------------------------------------------

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 2200 + 40 * text.length);
}

function alertBox(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert");
  if (!dialog.open) dialog.showModal();
}

let failure = "";  // why the last send failed, until the next one
function updateNotice() {
  const text = input.value.trim();
  let long = "";
  if (text.length > MAX_MESSAGE) {
    const count = text.length.toLocaleString(lang === "en" ? "en-US" : "id-ID");
    long = t("long", {count, parts: splitText(text).length});
  }
  const el = $("notice");
  el.textContent = failure || long;
  el.hidden = !el.textContent;
}

// ---- acting as the user ----------------------------------------------------------------------

async function press(messageId, button, btn) {
  if (button.url) {
    if (/^(https?|tg):/i.test(button.url)) window.open(button.url, "_blank", "noopener");
    return;
  }
  if (button.copy_text) {
    await navigator.clipboard.writeText(button.copy_text.text).catch(() => {});
    toast(t("copied"));
    return;
  }
  if (button.callback_data === undefined) { toast(t("unsupported")); return; }
  btn.classList.add("busy");
  try {
    const sent = await call("POST", `/users/${me.id}/callback`, {message_id: messageId, data: button.callback_data});
    const {answered, answer} = await call("GET", `/callback_answers/${sent.callback_query_id}?wait=15`);
    if (answered && answer && answer.text) (answer.show_alert ? alertBox : toast)(answer.text);
  } catch (err) {
    toast(t("failed", {error: err.message}));
  } finally {
    btn.classList.remove("busy");
  }
}

async function sendText(text) {
  const result = await call("POST", `/users/${me.id}/message`, {text, first_name: me.name});
  const m = result.message;
  upsert({message_id: m.message_id, date: m.date, text: m.text, entities: m.entities || [], outgoing: false});
  toBottom();
}

async function submit() {
  const text = input.value.trim();
  if (!text) return;
  // Never lose what was typed: the box is emptied only of the parts that reached the sandbox.
  const parts = splitText(text);
  input.value = "";
  failure = "";
  resize();
  updateNotice();
  for (let i = 0; i < parts.length; i++) {
    try {
      await sendText(parts[i]);
    } catch (err) {
      const unsent = parts.slice(i).join("\n");
      input.value = input.value ? `${unsent}\n${input.value}` : unsent;
      failure = t("failed", {error: err.message});
      resize();
      updateNotice();
      return;
    }
  }
}

function resize() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 168)}px`;
}

// ---- following the chat ----------------------------------------------------------------------

async function followChat(gen) {
  let wait = 0;
  while (gen === generation) {
    try {
      const data = await call("GET", `/chats/${me.id}/events?incoming=1&after_seq=${lastSeq}&wait=${wait}`);
      if (gen !== generation) return;
      if (data.last_seq < lastSeq) { connect(); return; }  // a restarted or reset sandbox
      const stick = replaying || nearBottom();
      for (const e of data.events) { lastSeq = Math.max(lastSeq, e.seq); show(e); }
      if (stick && data.events.length) toBottom();
      if (replaying) { replaying = false; $("empty").hidden = rows.size > 0; toBottom(); }
      $("status").textContent = t("bot");
      $("status").dataset.i18n = "bot";
      wait = 25;
    } catch (err) {
      $("status").textContent = t("offline");
      $("status").dataset.i18n = "offline";
      await new Promise((r) => setTimeout(r, 1000));  // back off before reconnecting
    }
  }
}

async function connect() {
  generation += 1;
  lastSeq = 0;
  replaying = true;
  rows.clear();
  shownText.clear();
  rewritten.clear();
  log.replaceChildren();
  keyboard = null;
  drawKeyboard();
  $("me-label").textContent = `${me.name} · ${me.id}`;
  try {
    const info = await call("GET", "/");
    $("botname").textContent = info.bot_first_name || "Bot";
    $("avatar").textContent = (info.bot_first_name || "B").slice(0, 1).toUpperCase();
    const profile = await call("POST", `/users/${me.id}`, {first_name: me.name});
    if (!lang) lang = String(profile.user.language_code || "id").startsWith("en") ? "en" : "id";
  } catch (err) {
    $("status").textContent = t("offline");
  }
  applyLanguage();
  saveIdentity();
  followChat(generation);
}

// ---- wiring ----------------------------------------------------------------------------------

$("composer").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
});
input.addEventListener("input", () => { resize(); updateNotice(); });
$("kb-toggle").addEventListener("click", () => { keyboardOpen = !keyboardOpen; drawKeyboard(); });
$("start").addEventListener("click", () => sendText("/start").catch((err) => toast(t("failed", {error: err.message}))));
$("me").addEventListener("click", () => {
  $("who-id").value = me.id;
  $("who-name").value = me.name;
  $("who-dialog").showModal();
});
$("who-new").addEventListener("click", () => {
  $("who-id").value = 100000 + Math.floor(Math.random() * 900000);
});
$("who-dialog").addEventListener("close", () => {
  if ($("who-dialog").returnValue !== "save") return;
  const id = parseInt($("who-id").value, 10);
  if (!(id > 0)) return;
  const changed = id !== me.id;
  me = {id, name: $("who-name").value.trim() || "Demo"};
  if (changed) lang = null;  // another user: his own language, from his profile and his chat
  saveIdentity();
  connect();
});
connect();
})();
