// kcp portal: copy buttons and live tables over one websocket per tab.
//
// A <tbody data-watch="children|objects" data-rv=...> is a server-rendered list at revision rv;
// it is subscribed to on the tab's socket from that revision, so no change is missed or applied
// twice (rows are keyed). When the server says EXPIRED, or the socket had to reconnect, the table
// is re-listed once (data-list-url) and followed from the new revision.
(function () {
  "use strict";

  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  document.addEventListener("click", function (ev) {
    const button = ev.target.closest("[data-copy]");
    if (!button) return;
    const text = button.getAttribute("data-copy");
    const done = function () { announce("Copied: " + text); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { announce("Could not copy; select the text instead."); });
    } else {
      announce("Could not copy; select the text instead.");
    }
  });

  function cell(row, content) {
    const td = document.createElement("td");
    if (typeof content === "string") td.textContent = content; else td.appendChild(content);
    row.appendChild(td);
    return td;
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  const kinds = {
    children: {
      key: function (o) { return o.name; },
      label: function (o) { return "Workspace " + o.name; },
      render: function (tbody, o) {
        const tr = document.createElement("tr");
        cell(tr, link(tbody.dataset.baseUrl + encodeURIComponent(o.path) + "/", o.name));
        cell(tr, o.type);
        const badge = document.createElement("span");
        badge.className = "badge phase-" + String(o.phase || "").toLowerCase();
        badge.textContent = o.phase;
        cell(tr, badge);
        return tr;
      },
    },
    objects: {
      key: function (o) { return o.namespace + "/" + o.name; },
      label: function (o) { return (o.namespace ? o.namespace + "/" : "") + o.name; },
      render: function (tbody, o) {
        const tr = document.createElement("tr");
        if (tbody.dataset.namespaced) cell(tr, o.namespace);
        const href = tbody.dataset.objectBase + encodeURIComponent(o.namespace || "-") + "/" + encodeURIComponent(o.name);
        cell(tr, link(href, o.name));
        const time = document.createElement("time");
        time.dateTime = o.created;
        time.textContent = o.created;
        cell(tr, time);
        return tr;
      },
    },
  };

  function rowFor(tbody, key) {
    for (const row of tbody.rows) if (row.dataset.key === key) return row;
    return null;
  }

  function upsert(tbody, obj) {
    const kind = kinds[tbody.dataset.watch];
    const key = kind.key(obj);
    const row = kind.render(tbody, obj);
    row.dataset.key = key;
    const old = rowFor(tbody, key);
    if (old) { old.replaceWith(row); return false; }
    let before = null;
    for (const r of tbody.rows) { if (r.dataset.key > key) { before = r; break; } }
    tbody.insertBefore(row, before);
    return true;
  }

  function refreshEmpty(tbody) {
    const empty = document.querySelector('[data-empty-for="' + tbody.id + '"]');
    if (empty) empty.hidden = tbody.rows.length > 0;
  }

  function Live() {
    this.watches = new Map();
    this.socket = null;
    this.attempt = 0;
    this.stats = { relists: 0, connects: 0 };
  }

  Live.prototype.start = function () {
    const self = this;
    document.querySelectorAll("tbody[data-watch]").forEach(function (tbody, i) { self.watches.set("w" + i, tbody); });
    if (this.watches.size) this.connect(false);
  };

  Live.prototype.status = function (text) {
    const p = document.getElementById("connection");
    if (!p) return;
    p.textContent = text;
    p.hidden = !text;
  };

  Live.prototype.connect = function (relist) {
    const self = this;
    // A workspace's page talks to the shard holding it: its socket lives under the page's
    // workspace path, which the front proxy routes like the page itself.
    const inWorkspace = location.pathname.match(/^\/workspaces\/([^/]+)\//);
    const socketPath = inWorkspace ? "/workspaces/" + inWorkspace[1] + "/ws" : "/ws/portal";
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + socketPath;
    const ws = new WebSocket(url);
    this.socket = ws;
    ws.onopen = async function () {
      self.attempt = 0;
      self.stats.connects += 1;
      for (const [sid, tbody] of self.watches) {
        if (relist) await self.relist(sid, tbody);
        self.watch(sid, tbody);
      }
      self.status("");
      if (relist) announce("Live updates are back.");
    };
    ws.onmessage = function (m) { self.onMessage(JSON.parse(m.data)); };
    ws.onclose = function () {
      if (self.socket !== ws) return;
      self.status("Reconnecting… live updates are paused.");
      const delay = Math.min(10000, 1000 * Math.pow(2, self.attempt));
      self.attempt += 1;
      window.setTimeout(function () { self.connect(true); }, delay);
    };
  };

  Live.prototype.drop = function () {
    if (this.socket) this.socket.close();
  };

  Live.prototype.send = function (msg) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  };

  Live.prototype.watch = function (sid, tbody) {
    const d = tbody.dataset;
    this.send({
      op: "watch", sid: sid, target: d.watch, path: d.path, group: d.group || "", version: d.version || "",
      resource: d.resource || "", namespace: d.namespace || "", rv: d.rv,
    });
  };

  Live.prototype.relist = async function (sid, tbody) {
    this.stats.relists += 1;
    const response = await fetch(tbody.dataset.listUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) {
      this.status("Could not refresh this list (HTTP " + response.status + "). Reload the page.");
      return;
    }
    const data = await response.json();
    const kind = kinds[tbody.dataset.watch];
    const keep = new Set(data.items.map(kind.key));
    for (const row of Array.from(tbody.rows)) if (!keep.has(row.dataset.key)) row.remove();
    data.items.forEach(function (o) { upsert(tbody, o); });
    tbody.dataset.rv = data.resourceVersion;
    refreshEmpty(tbody);
  };

  Live.prototype.onMessage = function (msg) {
    const self = this;
    const tbody = this.watches.get(msg.sid);
    if (!tbody) return;
    if (msg.type === "EXPIRED") {
      this.relist(msg.sid, tbody).then(function () { self.watch(msg.sid, tbody); });
      return;
    }
    if (msg.type === "ERROR") {
      this.status("Live updates stopped: " + msg.message);
      return;
    }
    const kind = kinds[tbody.dataset.watch];
    if (msg.type === "DELETED") {
      const row = rowFor(tbody, kind.key(msg.object));
      if (row) row.remove();
      announce(kind.label(msg.object) + " was deleted.");
    } else {
      const added = upsert(tbody, msg.object);
      announce(kind.label(msg.object) + (added ? " was added" : " changed") + (msg.object.phase ? ": " + msg.object.phase : "") + ".");
    }
    refreshEmpty(tbody);
  };

  const live = new Live();
  window.kcpPortal = live;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { live.start(); });
  else live.start();
})();

// Ctrl/Cmd+K: a modal <dialog> (focus stays inside; Escape closes it and focus returns to where it was)
// listing the portal's pages and the workspaces the user may open, filtered as they type.
(function () {
  "use strict";
  const dialog = document.getElementById("palette");
  if (!dialog) return;
  const input = document.getElementById("palette-filter");
  const list = document.getElementById("palette-results");
  const count = document.getElementById("palette-count");
  let items = null;
  let opener = null;

  function render() {
    const q = input.value.trim().toLowerCase();
    list.replaceChildren();
    const shown = (items || []).filter(function (i) { return !q || i.label.toLowerCase().includes(q); }).slice(0, 50);
    shown.forEach(function (i) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = i.url;
      a.textContent = i.label;
      li.appendChild(a);
      list.appendChild(li);
    });
    count.textContent = shown.length === 1 ? "1 result" : shown.length + " results";
  }

  async function open() {
    if (dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
    input.value = "";
    input.focus();
    if (items === null) {
      const r = await fetch(dialog.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      items = r.ok ? (await r.json()).items : [];
    }
    render();
  }

  dialog.addEventListener("close", function () {
    if (opener && typeof opener.focus === "function") opener.focus();
  });
  document.getElementById("palette-open").addEventListener("click", open);
  document.getElementById("palette-close").addEventListener("click", function () { dialog.close(); });
  input.addEventListener("input", render);
  document.addEventListener("keydown", function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === "k" || ev.key === "K")) {
      ev.preventDefault();
      open();
    }
  });
  dialog.addEventListener("keydown", function (ev) {
    const links = Array.from(list.querySelectorAll("a"));
    const at = links.indexOf(document.activeElement);
    if (ev.key === "Escape") {
      ev.preventDefault();
      dialog.close();
    } else if (ev.key === "ArrowDown") {
      ev.preventDefault();
      (links[at + 1] || links[0] || input).focus();
    } else if (ev.key === "ArrowUp") {
      ev.preventDefault();
      if (at <= 0) input.focus(); else links[at - 1].focus();
    } else if (ev.key === "Enter" && document.activeElement === input && links.length) {
      ev.preventDefault();
      links[0].click();
    }
  });
})();
