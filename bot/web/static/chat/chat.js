/* Clinic chat: a small, accessible chat widget for the clinic's assistant, over the web app's chat endpoints (which
 * proxy Rasa's REST channel; the browser never talks to Rasa itself).
 *
 * Embed it with one script tag; its settings are data attributes on that tag (see README, "Chat on your website"):
 *   <script src="https://ASSISTANT/static/chat/chat.js" defer
 *           data-clinic-name="..." data-phone="..." data-email="..."
 *           data-privacy-url="https://.../privacy" data-colour="#0b5e55"></script>
 * (data-server-url: the web app as browsers reach it; by default the origin the script came from.)
 *
 * A conversation is issued by the server: POST /chat/session gives its id (`sender`) and a secret that goes with
 * every message; a message without it is refused (403), and then a new conversation starts. Too many messages at
 * once get a 429 with a friendly message, shown, and the text stays in the box. While a part of the assistant
 * restarts the server answers 503 "unavailable" and takes nothing: "One moment", the text stays in the box, and the
 * widget says when the assistant is back. Each message carries a `message_id`; the same text sent again after a
 * failure keeps its id, so the server never takes one message twice (bot/chat/rest.py).
 *
 * Everything the client and the bot write is shown as text (textContent), never parsed as HTML.
 * The conversation (id, secret and the messages shown) lives in sessionStorage: it survives a reload of the page and
 * is gone when the tab is closed, which suits shared computers better than localStorage.
 *
 * Live chat with a practitioner (bot/live/): when a reply says the chat is with a person (header X-Chat-Live), the
 * widget opens a stream, POST /chat/stream with the secret in the body, read with fetch() as server-sent events.
 * A practitioner's messages appear marked with their first name and role; "is typing" and their leaving are shown.
 * The stream reconnects after any failure from the last event id it saw, so nothing is missed or shown twice. While
 * the chat is with a person, the id, secret and last event id (never the messages) are also kept in localStorage,
 * so the next visit from this browser picks the chat up again; they are removed when the chat is handed back/ended.
 */
(function () {
  "use strict";

  if (window.ClinicChat && window.ClinicChat.version) {
    return; // loaded twice: keep the first
  }

  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var scriptUrl = script && script.src ? script.src : window.location.href;

  var config = {
    serverUrl: (data.serverUrl || new URL(scriptUrl).origin).replace(/\/+$/, ""),
    clinicName: data.clinicName || "the clinic",
    phone: data.phone || "",
    email: data.email || "",
    privacyUrl: data.privacyUrl || "",
    colour: data.colour || "#0b5e55",
    colourText: data.colourText || "",
    healthUrl: data.healthUrl || "",
    stylesheet: data.stylesheet || new URL("chat.css", scriptUrl).href,
    greeting: data.greeting || "/greet",
    open: data.open === "true"
  };
  if (!config.healthUrl) config.healthUrl = config.serverUrl + "/chat/health";

  var STORAGE_KEY = "clinic-chat:" + config.serverUrl;
  var LIVE_KEY = "clinic-chat-live:" + config.serverUrl;
  var STREAM_RETRY_MS = [500, 1000, 2000, 4000, 8000];
  var MAX_KEPT = 300; // messages kept for a reload
  var REQUEST_TIMEOUT_MS = 45000;
  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];

  // ------------------------------------------------------------------------------------------------ small helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // The brand colour's text: white or near-black, whichever reads better on it (WCAG relative luminance).
  function luminance(hex) {
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(hex).trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
    var channels = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function contrast(l1, l2) {
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  }

  function brandColours() {
    var brand = luminance(config.colour) === null ? "#0b5e55" : config.colour;
    var l = luminance(brand);
    var dark = "#1a1a1a";
    var text = config.colourText || (contrast(l, 1) >= contrast(l, luminance(dark)) ? "#ffffff" : dark);
    return { brand: brand, text: text };
  }

  // ------------------------------------------------------------------------------------------------ kept state

  function load() {
    try {
      var raw = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (raw && typeof raw.sender === "string" && typeof raw.secret === "string" && Array.isArray(raw.history)) {
        return raw;
      }
    } catch (err) { /* unreadable or blocked storage: start afresh */ }
    try {
      // a live chat left open in another visit from this browser: carry on with it
      var live = JSON.parse(window.localStorage.getItem(LIVE_KEY) || "null");
      if (live && typeof live.sender === "string" && typeof live.secret === "string") {
        var resumed = fresh(true, "");
        resumed.sender = live.sender;
        resumed.secret = live.secret;
        resumed.live = { after: Number(live.after) || 0 };
        resumed.history.push({ who: "bot", text: "Welcome back: your chat with " + config.clinicName + " is still open." });
        return resumed;
      }
    } catch (err) { /* blocked storage */ }
    return fresh(false, "");
  }

  // A conversation not yet issued: the server gives it an id and secret with its first message (ensureSession).
  function fresh(open, draft) {
    return { sender: null, secret: null, history: [], open: open, draft: draft };
  }

  var state = load();

  function save() {
    state.history = state.history.slice(-MAX_KEPT);
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (err) { /* storage full or blocked: the conversation still works, it just won't survive a reload */ }
    try {
      if (state.live && state.sender) {
        window.localStorage.setItem(LIVE_KEY, JSON.stringify({ sender: state.sender, secret: state.secret, after: state.live.after }));
      } else {
        window.localStorage.removeItem(LIVE_KEY);
      }
    } catch (err) { /* blocked storage: the live chat still works in this tab */ }
  }

  // ------------------------------------------------------------------------------------------------ the elements

  var host = el("div", { id: "clinic-chat", "data-clinic-chat": "" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var colours = brandColours();
  var stylesheet = el("link", { rel: "stylesheet", href: config.stylesheet });
  var frame = el("div", { className: "cc" });
  frame.style.visibility = "hidden"; // until its stylesheet is in (set through CSSOM, which a strict CSP allows)
  frame.style.setProperty("--cc-brand", colours.brand);
  frame.style.setProperty("--cc-on-brand", colours.text);
  stylesheet.addEventListener("load", function () { frame.style.visibility = ""; });
  stylesheet.addEventListener("error", function () { frame.style.visibility = ""; });

  var launcher = el("button", {
    type: "button", className: "cc-launcher", "aria-expanded": "false", "aria-controls": "cc-panel"
  }, [chatIcon(), el("span", { text: "Chat with us" })]);

  var title = el("h2", { id: "cc-title", className: "cc-title", text: "Chat with " + config.clinicName });
  var subtitle = el("p", { className: "cc-subtitle" }, [el("span", { text: "Automated assistant, not a person" })]);
  var restartButton = el("button", { type: "button", className: "cc-header-button", text: "Restart" });
  var closeButton = el("button", {
    type: "button", className: "cc-header-button cc-close", "aria-label": "Close chat"
  }, [el("span", { "aria-hidden": "true", text: "\u00d7" })]);
  if (config.privacyUrl) {
    subtitle.appendChild(document.createTextNode(" \u00b7 "));
    subtitle.appendChild(el("a", { href: config.privacyUrl, target: "_blank", rel: "noopener" }, [
      "Privacy notice", el("span", { className: "cc-visually-hidden", text: " (opens in a new tab)" })
    ]));
  }
  var header = el("div", { className: "cc-header" }, [
    title,
    el("div", { className: "cc-header-actions" }, [restartButton, closeButton]),
    subtitle
  ]);

  var confirmYes = el("button", { type: "button", className: "cc-button cc-button-primary", text: "Yes, start again" });
  var confirmNo = el("button", { type: "button", className: "cc-button", text: "Cancel" });
  var confirmBar = el("div", { className: "cc-confirm", role: "group", "aria-labelledby": "cc-confirm-text", hidden: true }, [
    el("p", { id: "cc-confirm-text", text: "Start a new conversation? This one will be cleared from this screen." }),
    el("div", { className: "cc-confirm-buttons" }, [confirmYes, confirmNo])
  ]);

  var log = el("div", {
    className: "cc-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "Conversation", "aria-busy": "false", tabindex: "0"
  });
  var typing = el("div", { className: "cc-typing", hidden: true, "aria-hidden": "true" }, [
    el("span", { className: "cc-dot" }), el("span", { className: "cc-dot" }), el("span", { className: "cc-dot" }),
    el("span", { className: "cc-typing-text", text: "The assistant is typing" })
  ]);
  var liveTyping = el("div", { className: "cc-live-typing", role: "status", "aria-live": "polite", hidden: true });
  var alertBox = el("div", { className: "cc-alert", role: "alert" });
  var statusBox = el("div", { className: "cc-status", role: "status" });

  var input = el("input", {
    id: "cc-input", type: "text", className: "cc-input", autocomplete: "off", maxlength: "1000",
    placeholder: "Type your message"
  });
  var sendButton = el("button", { type: "submit", className: "cc-button cc-button-primary cc-send", text: "Send" });
  var form = el("form", { className: "cc-form", novalidate: true }, [
    el("label", { "for": "cc-input", className: "cc-visually-hidden", text: "Your message" }),
    input, sendButton
  ]);

  var panel = el("section", {
    id: "cc-panel", className: "cc-panel", role: "dialog", "aria-labelledby": "cc-title", hidden: true
  }, [header, confirmBar, log, typing, liveTyping, alertBox, statusBox, form]);

  frame.appendChild(launcher);
  frame.appendChild(panel);
  root.appendChild(stylesheet);
  root.appendChild(frame);

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z");
    svg.appendChild(path);
    return svg;
  }

  // ------------------------------------------------------------------------------------------------ rendering

  // Bot text may hold http(s) addresses: those become links (built as elements); all else stays plain text.
  var URL_PATTERN = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

  function textWithLinks(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    String(text).replace(URL_PATTERN, function (match, offset) {
      fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      fragment.appendChild(el("a", { href: match, target: "_blank", rel: "noopener noreferrer", text: match }));
      last = offset + match.length;
      return match;
    });
    fragment.appendChild(document.createTextNode(String(text).slice(last)));
    return fragment;
  }

  function messageNode(entry) {
    var mine = entry.who === "you";
    if (entry.who === "staff") {
      // a practitioner, never "the assistant": their first name and role, seen and heard
      var who = (entry.name || "A practitioner") + (entry.role ? ", " + entry.role : "");
      var staffBubble = el("div", { className: "cc-text" }, [
        el("span", { className: "cc-visually-hidden", text: who + " said: " })
      ]);
      staffBubble.appendChild(textWithLinks(entry.text || ""));
      return el("div", { className: "cc-message cc-from-staff" }, [
        el("div", { className: "cc-author", "aria-hidden": "true", text: who }), staffBubble
      ]);
    }
    var bubble = el("div", { className: "cc-text" }, [
      el("span", { className: "cc-visually-hidden", text: mine ? "You said: " : "Assistant: " })
    ]);
    bubble.appendChild(mine ? document.createTextNode(entry.text) : textWithLinks(entry.text || ""));
    return el("div", { className: "cc-message " + (mine ? "cc-from-you" : "cc-from-bot") }, [bubble]);
  }

  function quickReplies(buttons) {
    var group = el("div", { className: "cc-quick-replies", role: "group", "aria-label": "Quick replies" });
    buttons.forEach(function (button) {
      if (!button || typeof button.payload !== "string") return;
      var node = el("button", { type: "button", className: "cc-button cc-quick-reply", text: button.title || button.payload });
      node.addEventListener("click", function () {
        send(button.payload, button.title || button.payload, false);
      });
      group.appendChild(node);
    });
    return group;
  }

  function removeQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".cc-quick-replies"), function (group) {
      group.parentNode.removeChild(group);
    });
  }

  function showQuickRepliesOfLast() {
    removeQuickReplies();
    var last = state.history[state.history.length - 1];
    if (last && last.who === "bot" && last.buttons && last.buttons.length) {
      log.appendChild(quickReplies(last.buttons));
    }
  }

  function appendMessage(entry) {
    removeQuickReplies();
    var node = messageNode(entry);
    log.appendChild(node);
    if (entry.who === "bot" && entry.buttons && entry.buttons.length) log.appendChild(quickReplies(entry.buttons));
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function renderHistory() {
    // Built off-document, so a restored conversation is not read out again.
    var fragment = document.createDocumentFragment();
    state.history.forEach(function (entry) { fragment.appendChild(messageNode(entry)); });
    log.textContent = "";
    log.appendChild(fragment);
    showQuickRepliesOfLast();
    log.scrollTop = log.scrollHeight;
  }

  // ------------------------------------------------------------------------------------------------ talking to the server

  // A refusal the server explained (403 not this browser's conversation, 429 too fast): not an outage.
  function Refusal(kind, message) {
    this.kind = kind;
    this.message = message;
  }

  function postJson(path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch(config.serverUrl + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 403 || response.status === 429) {
        return response.json().then(function (answer) { return answer; }, function () { return {}; }).then(function (answer) {
          var kind = response.status === 429 ? "rate_limited" : (answer && answer.error) || "refused";
          throw new Refusal(kind, (answer && answer.message) || "");
        });
      }
      if (response.status === 503) {
        // "One moment": a part of the assistant is restarting; the message was not taken (bot/chat/rest.py)
        return response.json().then(function (answer) { return answer; }, function () { return {}; }).then(function (answer) {
          var outage = new Error("HTTP 503");
          outage.friendly = answer && answer.error === "unavailable" ? "One moment, please: the assistant is restarting." : "";
          throw outage;
        });
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      var liveState = response.headers.get("X-Chat-Live");
      var lastEvent = response.headers.get("X-Chat-Last-Event");
      return response.json().then(function (answer) {
        if (liveState) liveSeen(liveState, Number(lastEvent) || 0);
        return answer;
      });
    }).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  // The conversation's id and secret, asked of the server the first time they are needed.
  function ensureSession() {
    if (state.sender && state.secret) return Promise.resolve(state);
    var asking = state;
    return postJson("/chat/session", {}).then(function (issued) {
      if (!issued || typeof issued.sender !== "string" || typeof issued.secret !== "string") {
        throw new Error("unexpected reply");
      }
      if (asking === state) {
        state.sender = issued.sender;
        state.secret = issued.secret;
        save();
      }
      return asking;
    });
  }

  // Each message has an id; a message sent again after a failure keeps its id, so the server never takes it twice
  // (it answers a repeated id with the replies it already gave: bot/chat/rest.py).
  function newMessageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function post(message, messageId) {
    return ensureSession().then(function (conversation) {
      return postJson("/webhooks/rest/webhook", {
        sender: conversation.sender, secret: conversation.secret, message: message, message_id: messageId
      });
    }).then(function (replies) {
      if (!Array.isArray(replies)) throw new Error("unexpected reply");
      return replies;
    });
  }

  // Is the assistant whole again? The web app answers and says the Rasa server and the action server are up.
  function probe() {
    return fetch(config.healthUrl, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (health) {
      if (!health || health.rasa !== "up") throw new Error("assistant down");
      if (health.actions === "down") throw new Error("action server down");
      return true;
    });
  }

  var busy = false;
  var queued = false; // Enter pressed while the previous message was on its way: send once it is answered
  var offline = false;
  var retryTimer = null;
  var retryIndex = 0;
  var unsent = null; // {message, id}: the last message that did not get through; sent again, it keeps its id

  function send(message, shownAs, fromInput) {
    if (busy) return;
    busy = true;
    var messageId = unsent && unsent.message === message ? unsent.id : newMessageId();
    unsent = null;
    var entry = shownAs === null ? null : { who: "you", text: shownAs };
    var conversation = state; // a restart meanwhile replaces it
    if (entry) {
      var node = appendMessage(entry);
      state.history.push(entry);
      save();
    }
    if (fromInput) setDraft("");
    if (entry) statusBox.textContent = ""; // the "back again" notice stays until the client carries on
    typing.hidden = false;
    log.setAttribute("aria-busy", "true"); // announce the answer whole, once it is all there
    log.scrollTop = log.scrollHeight;

    post(message, messageId).then(function (replies) {
      var shown = replies.filter(function (reply) { return reply.text || (reply.buttons && reply.buttons.length); });
      if (shown.length || state.live) return shown; // with a person, their answer comes on the stream
      // Every turn has an answer; none means a part of the assistant failed (often the action server).
      return probe().then(function () { return shown; });
    }).then(function (replies) {
      if (conversation !== state) return; // the client restarted meanwhile: this answer belongs to the old one
      typing.hidden = true;
      log.setAttribute("aria-busy", "false");
      busy = false;
      replies.forEach(function (reply) {
        var bot = { who: "bot", text: reply.text || "", buttons: reply.buttons || [] };
        state.history.push(bot);
        appendMessage(bot);
      });
      save();
      if (offline) reconnected();
      if (queued) { queued = false; submitInput(); }
    }, function (problem) {
      if (conversation !== state) return;
      typing.hidden = true;
      log.setAttribute("aria-busy", "false");
      busy = false;
      queued = false;
      if (!(problem instanceof Refusal && problem.kind !== "rate_limited")) unsent = { message: message, id: messageId };
      if (entry) {
        // Not delivered: take the message back out of the conversation and give the text back to its writer.
        state.history.splice(state.history.lastIndexOf(entry), 1);
        if (node && node.parentNode) node.parentNode.removeChild(node);
        if (fromInput && !input.value) setDraft(shownAs);
        save();
      }
      showQuickRepliesOfLast();
      if (problem instanceof Refusal && problem.kind === "rate_limited") {
        statusBox.textContent = problem.message || "You're sending messages very quickly. Please wait a moment.";
      } else if (problem instanceof Refusal) {
        // Not this browser's conversation (or its key is lost): start a new one, keeping what the client typed.
        startAfresh(problem.message || "This conversation can't be continued here.",
                    fromInput && shownAs ? shownAs : input.value);
      } else {
        wentOffline(problem && problem.friendly);
      }
    });
  }

  function sendGreetingIfNew() {
    if (!state.history.length && !busy) send(config.greeting, null, false);
  }

  // ------------------------------------------------------------------------------------------------ live chat

  var stream = null; // {conversation, controller} while a stream is open
  var streamRetry = 0;
  var streamTimer = null;

  // A reply said the chat is with a person: keep where the stream starts, and open it.
  function liveSeen(liveState, lastEvent) {
    // only the first time: later, the stream's own last id is what counts (a header could skip a message not yet seen)
    if (!state.live) state.live = { after: lastEvent };
    save();
    openStream();
  }

  function showLiveStatus(status) {
    if (status.typing && status.name) {
      liveTyping.textContent = status.name + " is typing\u2026";
      liveTyping.hidden = false;
    } else {
      liveTyping.textContent = "";
      liveTyping.hidden = true;
    }
    frame.classList.toggle("cc-live", status.state === "taken");
  }

  function liveMessage(message) {
    if (!state.live) return;
    if (message.id <= (state.live.after || 0)) return; // seen already (a reconnect): never twice
    state.live.after = message.id;
    var entry = message.author === "staff"
      ? { who: "staff", name: message.name, role: message.role, text: message.text || "" }
      : { who: "bot", text: message.text || "", buttons: message.buttons || [] };
    if (message.author === "staff") liveTyping.hidden = true;
    state.history.push(entry);
    appendMessage(entry);
    save();
  }

  function liveOver(after) {
    if (state.live && after) state.live.after = Math.max(state.live.after || 0, after);
    state.live = null;
    stream = null;
    showLiveStatus({ state: null, typing: false });
    save();
  }

  function handleEvent(kind, body) {
    if (kind === "message") liveMessage(body);
    else if (kind === "status") showLiveStatus(body);
    else if (kind === "end") return "end";
    else if (kind === "again") return "again";
    return null;
  }

  function openStream() {
    if (stream || !state.live || !state.sender || !window.fetch || !window.TextDecoder) return;
    clearTimeout(streamTimer);
    var conversation = state;
    var controller = window.AbortController ? new AbortController() : null;
    stream = { conversation: conversation, controller: controller };
    var outcome = null;
    fetch(config.serverUrl + "/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.sender, secret: state.secret, after: state.live.after || 0 }),
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 403) { outcome = "refused"; return null; }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      streamRetry = 0;
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return null;
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split("\n\n");
          buffer = parts.pop();
          for (var i = 0; i < parts.length; i++) {
            var kind = "message", payload = "";
            parts[i].split("\n").forEach(function (line) {
              if (line.indexOf("event: ") === 0) kind = line.slice(7);
              else if (line.indexOf("data: ") === 0) payload += line.slice(6);
            });
            if (!payload || conversation !== state) continue;
            var body;
            try { body = JSON.parse(payload); } catch (err) { continue; }
            var done = handleEvent(kind, body);
            if (done) { outcome = done; if (done === "end") liveOver(body.after); return null; }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* dropped: reconnect below */ }).then(function () {
      if (conversation !== state) return;
      if (outcome === "end" || outcome === "refused") { if (outcome === "refused") liveOver(0); return; }
      stream = null;
      var delay = outcome === "again" ? 0 : STREAM_RETRY_MS[Math.min(streamRetry, STREAM_RETRY_MS.length - 1)];
      streamRetry += outcome === "again" ? 0 : 1;
      streamTimer = setTimeout(openStream, delay);
    });
  }

  function closeStream() {
    clearTimeout(streamTimer);
    if (stream && stream.controller) stream.controller.abort();
    stream = null;
    showLiveStatus({ state: null, typing: false });
  }

  // ------------------------------------------------------------------------------------------------ failures

  function contactLinks() {
    var parts = [];
    if (config.phone) parts.push(["call ", el("a", { href: "tel:" + config.phone.replace(/[^0-9+]/g, ""), text: config.phone })]);
    if (config.email) parts.push(["email ", el("a", { href: "mailto:" + config.email, text: config.email })]);
    var nodes = [];
    parts.forEach(function (part, index) {
      if (index) nodes.push(" or ");
      nodes.push(part[0], part[1]);
    });
    return nodes;
  }

  function wentOffline(friendly) {
    offline = true;
    var children = [el("strong", { text: friendly || "Sorry, the assistant isn't available at the moment." }), " "];
    if (input.value) children.push("Your message hasn't been sent: it's still in the box below. ");
    var contact = contactLinks();
    if (contact.length) {
      children.push("To reach " + config.clinicName + " now, ");
      children = children.concat(contact);
      children.push(". ");
    }
    children.push("I'll keep trying to reconnect and will tell you when I'm back.");
    alertBox.textContent = "";
    alertBox.appendChild(el("p", {}, children));
    scheduleRetry();
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    var delay = RETRY_DELAYS_MS[Math.min(retryIndex, RETRY_DELAYS_MS.length - 1)];
    retryIndex += 1;
    retryTimer = setTimeout(function () {
      probe().then(reconnected, function () { if (offline) scheduleRetry(); });
    }, delay);
  }

  function reconnected() {
    if (!offline) return;
    offline = false;
    retryIndex = 0;
    clearTimeout(retryTimer);
    alertBox.textContent = "";
    statusBox.textContent = input.value
      ? "The assistant is back. You can send your message now."
      : "The assistant is back. You can carry on.";
    if (!state.history.length && !panel.hidden) sendGreetingIfNew();
  }

  window.addEventListener("online", function () {
    if (offline) { retryIndex = 0; scheduleRetry(); }
  });

  // ------------------------------------------------------------------------------------------------ behaviour

  function setDraft(text) {
    input.value = text;
    state.draft = text;
    save();
  }

  function openPanel(focus) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    log.scrollTop = log.scrollHeight;
    if (focus !== false) input.focus();
    sendGreetingIfNew();
  }

  function closePanel() {
    panel.hidden = true;
    confirmBar.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }

  function startAfresh(notice, draft) {
    closeStream();
    state = fresh(true, draft || "");
    save();
    renderHistory();
    input.value = state.draft;
    alertBox.textContent = "";
    statusBox.textContent = notice + " A new conversation has started.";
    typing.hidden = true;
    log.setAttribute("aria-busy", "false");
    busy = false;
    queued = false;
    sendGreetingIfNew();
  }

  function restart() {
    confirmBar.hidden = true;
    closeStream();
    state = fresh(true, input.value);
    save();
    renderHistory();
    alertBox.textContent = "";
    statusBox.textContent = "";
    typing.hidden = true;
    log.setAttribute("aria-busy", "false");
    busy = false;
    queued = false;
    input.focus();
    sendGreetingIfNew();
  }

  launcher.addEventListener("click", function () { openPanel(true); });
  closeButton.addEventListener("click", closePanel);
  restartButton.addEventListener("click", function () {
    confirmBar.hidden = false;
    confirmYes.focus();
  });
  confirmYes.addEventListener("click", restart);
  confirmNo.addEventListener("click", function () {
    confirmBar.hidden = true;
    restartButton.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      if (!confirmBar.hidden) { confirmBar.hidden = true; restartButton.focus(); return; }
      closePanel();
    }
  });
  function submitInput() {
    var text = input.value.trim();
    if (!text) return;
    if (busy) { queued = true; return; } // the previous message is still on its way; the text stays in the box
    send(text, text, true);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
    input.focus();
  });
  input.addEventListener("input", function () {
    state.draft = input.value;
    save();
  });
  // After a quick reply the buttons go away: keep the keyboard in the conversation, in the message box.
  log.addEventListener("click", function (event) {
    if (event.target && event.target.classList && event.target.classList.contains("cc-quick-reply")) input.focus();
  });

  // ------------------------------------------------------------------------------------------------ start

  function start() {
    document.body.appendChild(host);
    renderHistory();
    input.value = state.draft || "";
    showLiveStatus({ state: null, typing: false });
    if (state.open || config.open) openPanel(false);
    if (state.live) openStream();
  }

  window.ClinicChat = {
    version: "1",
    open: function () { openPanel(true); },
    close: closePanel,
    restart: restart,
    get senderId() { return state.sender; },
    get live() { return state.live ? state.live.after : null; }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
