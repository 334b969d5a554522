/* The live chat on the staff side (bot/web/live.py). On every dashboard page: polls /staff/live/signal.json and shows
   how many clients wait for a person (banner, role=status, and the count in the navigation), with a short sound made
   by the Web Audio API when someone new starts waiting (mute toggle kept in this browser). On /staff/live: the queue
   re-drawn from /staff/live/queue.json. On /staff/live/{id}: new messages appear, the reply box sends without a
   reload and tells the client "typing" (at most every few seconds). Everything a client wrote is set as text,
   never as HTML. No inline script: the staff pages' CSP allows only this file. */
(function () {
  "use strict";

  var SIGNAL_EVERY_MS = 3000;
  var QUEUE_EVERY_MS = 2500;
  var THREAD_EVERY_MS = 2000;
  var TYPING_EVERY_MS = 3000;
  var MUTE_KEY = "staff-live-muted";
  var HEARD_KEY = "staff-live-heard"; // the newest request already chimed for (across the pages of this tab)

  function $(id) { return document.getElementById(id); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { throw new Error("signed out"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }

  function postForm(form, extra) {
    var body = new URLSearchParams(new FormData(form));
    Object.keys(extra || {}).forEach(function (k) { body.set(k, extra[k]); });
    return fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { Accept: "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, json: json }; });
    });
  }

  function every(ms, fn) {
    var busy = false;
    function tick() {
      if (busy) { return; }
      busy = true;
      Promise.resolve().then(fn).catch(function () { /* next tick tries again */ })
        .then(function () { busy = false; });
    }
    tick();
    return window.setInterval(tick, ms);
  }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    if (seconds < 60) { return seconds + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    return Math.floor(seconds / 3600) + " h";
  }

  // ------------------------------------------------------------------------------------------ the sound

  var audio = null;

  function muted() {
    try { return localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { return false; }
  }

  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!audio) { audio = new Ctx(); }
    return audio;
  }

  // browsers start audio only after the person has used the page: unlock on their first click or key
  function unlockAudio() {
    var ctx = audioContext();
    if (ctx && ctx.state === "suspended") { ctx.resume(); }
  }
  document.addEventListener("click", unlockAudio, { once: true, capture: true });
  document.addEventListener("keydown", unlockAudio, { once: true, capture: true });

  function chime() {
    var root = document.documentElement;
    if (muted()) {
      root.setAttribute("data-live-chime-muted", String(Number(root.getAttribute("data-live-chime-muted") || 0) + 1));
      return;
    }
    var ctx = audioContext();
    if (!ctx) { return; }
    if (ctx.state === "suspended") { ctx.resume(); }
    var t = ctx.currentTime + 0.02;
    [880, 660].forEach(function (freq, i) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var start = t + i * 0.18;
      osc.type = "sine";
      osc.frequency.setValueAtTime(freq, start);
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.17);
    });
    root.setAttribute("data-live-chimes", String(Number(root.getAttribute("data-live-chimes") || 0) + 1));
  }

  // ------------------------------------------------------------------------------------------ the signal

  function setUpSignal() {
    var box = $("live-signal");
    if (!box) { return; }
    var text = $("live-signal-text");
    var link = $("live-signal-link");
    var mute = $("live-mute");
    var nav = $("live-nav-count");

    function showMute() {
      var m = muted();
      mute.setAttribute("aria-pressed", m ? "true" : "false");
      mute.textContent = m ? "Sound off (turn on)" : "Mute the sound";
    }
    mute.addEventListener("click", function () {
      try { localStorage.setItem(MUTE_KEY, muted() ? "0" : "1"); } catch (e) { /* private mode: stays as is */ }
      showMute();
    });
    showMute();

    function heard() {
      try { return sessionStorage.getItem(HEARD_KEY) || ""; } catch (e) { return ""; }
    }

    every(SIGNAL_EVERY_MS, function () {
      return getJSON(box.getAttribute("data-poll")).then(function (s) {
        var n = s.waiting || 0;
        box.classList.toggle("active", n > 0);
        box.setAttribute("data-waiting", String(n));
        text.textContent = n === 0 ? "" : (n === 1 ? "A client is waiting for a person" :
          n + " clients are waiting for a person") + " (longest " + minutes(s.oldest_waiting_seconds) + ").";
        link.hidden = n === 0;
        mute.hidden = n === 0;
        nav.hidden = n === 0;
        nav.textContent = String(n);
        nav.setAttribute("aria-label", n + " waiting");
        if (n > 0 && s.newest_requested_at && s.newest_requested_at > heard()) {
          try { sessionStorage.setItem(HEARD_KEY, s.newest_requested_at); } catch (e) { /* chimes again */ }
          chime();
        }
      });
    });
  }

  // ------------------------------------------------------------------------------------------ the queue page

  function cell(row, child) {
    var td = document.createElement("td");
    if (typeof child === "string") { td.textContent = child; } else if (child) { td.appendChild(child); }
    row.appendChild(td);
    return td;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function queueRow(i) {
    var row = document.createElement("tr");
    row.setAttribute("data-conversation", i.conversation_id);
    row.className = "state-" + i.state;
    cell(row, el("span", i.state_word, "badge live " + i.state));
    cell(row, el("span", i.waiting_seconds === null ? "—" : minutes(i.waiting_seconds), "waited"));
    var a = el("a", i.name || "(no name yet)");
    a.href = i.url;
    cell(row, a);
    var reasons = cell(row, i.reasons.length ? null : "—");
    i.reasons.forEach(function (code, n) {
      if (n) { reasons.appendChild(document.createTextNode(", ")); }
      reasons.appendChild(el("code", code));
    });
    var details = el("details");
    details.appendChild(el("summary", i.answers.length + (i.answers.length === 1 ? " answer" : " answers")));
    var dl = el("dl", null, "answers");
    i.answers.forEach(function (pair) { dl.appendChild(el("dt", pair[0])); dl.appendChild(el("dd", pair[1])); });
    details.appendChild(dl);
    cell(row, details);
    var by = cell(row, i.taken_by_name ? i.taken_by_name + " " : "—");
    if (i.taken_by_name) { by.appendChild(el("span", "(" + i.taken_by_role + ")", "hint")); }
    return row;
  }

  function setUpQueue() {
    var box = $("live-queue");
    if (!box) { return; }
    var table = box.querySelector("table");
    var empty = box.querySelector(".empty");
    var body = table.querySelector("tbody");
    var count = $("live-queue-count");
    every(QUEUE_EVERY_MS, function () {
      return getJSON(box.getAttribute("data-poll")).then(function (q) {
        // keep open <details> open across redraws
        var open = {};
        body.querySelectorAll("tr").forEach(function (r) {
          var d = r.querySelector("details");
          if (d && d.open) { open[r.getAttribute("data-conversation")] = true; }
        });
        var rows = q.chats.map(function (i) {
          var r = queueRow(i);
          if (open[i.conversation_id]) { r.querySelector("details").open = true; }
          return r;
        });
        body.replaceChildren.apply(body, rows);
        table.hidden = rows.length === 0;
        empty.hidden = rows.length !== 0;
        count.textContent = q.waiting + " waiting";
        box.setAttribute("data-updated", q.now);
      });
    });
  }

  // ------------------------------------------------------------------------------------------ one conversation

  var WHO = { client: "Client", assistant: "Assistant" };

  function bubble(m) {
    var li = el("li", null, "bubble " + m.author);
    li.setAttribute("data-id", String(m.id));
    var who = m.author === "staff" ? (m.name || "Staff") + (m.role ? " (" + m.role + ")" : "") : (WHO[m.author] || m.author);
    li.appendChild(el("span", who, "who"));
    var time = el("time", m.at ? new Date(m.at).toLocaleTimeString() : "");
    if (m.at) { time.setAttribute("datetime", m.at); }
    li.appendChild(time);
    li.appendChild(el("p", m.text || ""));
    return li;
  }

  function setUpConversation() {
    var box = $("live-chat");
    if (!box) { return; }
    var thread = $("live-thread");
    var after = Number(box.getAttribute("data-after") || 0);
    var reply = $("live-reply");
    var text = $("live-text");
    var error = $("live-reply-error");
    var state = $("live-state");
    var holder = $("live-holder");
    var notYours = $("live-not-yours");
    var take = $("live-take");
    var handBack = $("live-hand-back");
    var end = $("live-end");
    var answer = $("live-answer");
    var seen = {};
    thread.querySelectorAll("li[data-id]").forEach(function (li) { seen[li.getAttribute("data-id")] = true; });

    function add(messages) {
      var atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
      messages.forEach(function (m) {
        after = Math.max(after, m.id);
        if (seen[String(m.id)]) { return; }
        seen[String(m.id)] = true;
        thread.appendChild(bubble(m));
      });
      box.setAttribute("data-after", String(after));
      if (atEnd) { thread.scrollTop = thread.scrollHeight; }
    }

    function showState(chat, canSend) {
      state.textContent = chat.state_word;
      state.setAttribute("data-state", chat.state);
      holder.textContent = chat.state === "taken" ?
        "Taken by " + chat.taken_by_name + " (" + chat.taken_by_role + ")" + (chat.taken_by_me ? ": you" : "") : "";
      if (reply) { reply.hidden = !canSend; }
      if (take) { take.hidden = !(chat.state === "waiting" || chat.state === "timed_out"); }
      if (handBack) { handBack.hidden = !canSend; }
      if (end) { end.hidden = !canSend; }
      if (answer) { answer.hidden = !canSend; }
      if (!canSend) {
        if (chat.state === "taken" && !chat.taken_by_me) {
          notYours.textContent = chat.taken_by_name + " has this chat: only they can write to the client.";
        } else if (!take && (chat.state === "waiting" || chat.state === "timed_out" || chat.state === "taken")) {
          notYours.textContent = "Read-only: only a practitioner takes a chat and writes to the client.";
        } else if (chat.state === "waiting" || chat.state === "timed_out") {
          notYours.textContent = "Take the chat to write to the client.";
        } else {
          notYours.textContent = chat.state_word + ".";
        }
      }
      notYours.hidden = canSend;
    }

    function poll() {
      return getJSON(box.getAttribute("data-poll") + "?after=" + after).then(function (t) {
        add(t.messages);
        showState(t.chat, t.can_send);
      });
    }
    every(THREAD_EVERY_MS, poll);
    thread.scrollTop = thread.scrollHeight;

    if (!reply) { return; }
    var lastTyping = 0;
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < TYPING_EVERY_MS || !text.value.trim()) { return; }
      lastTyping = now;
      var form = document.createElement("form");
      form.setAttribute("action", box.getAttribute("data-typing"));
      var token = reply.querySelector("input[name=csrf_token]");
      postForm(form, { csrf_token: token.value }).catch(function () { /* typing is a nicety */ });
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        if (typeof reply.requestSubmit === "function") { reply.requestSubmit(); } else { reply.submit(); }
      }
    });
    reply.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!text.value.trim()) { return; }
      var button = reply.querySelector("button[type=submit]");
      button.disabled = true;
      error.hidden = true;
      postForm(reply).then(function (r) {
        if (r.status === 200 && r.json.ok) {
          text.value = "";
          lastTyping = 0;
          if (r.json.message && r.json.message.id) { add([r.json.message]); }
          return poll();
        }
        error.textContent = (r.json && r.json.detail) || "Not sent: try again in a moment.";
        error.hidden = false;
        return poll();
      }).catch(function () {
        error.textContent = "Not sent: the dashboard could not reach the server. Your text is still here.";
        error.hidden = false;
      }).then(function () { button.disabled = false; text.focus(); });
    });
  }

  function start() {
    setUpSignal();
    setUpQueue();
    setUpConversation();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
