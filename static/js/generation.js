// Live updates of generation on the task page, over generation's one websocket.
// An image job's panel (#job-status) carries the job's id and URLs: while the job is pending or running, the
// socket reports its steps; when it ends, the panel is re-rendered and, on success, the candidate grid is
// swapped in with htmx (no page reload). A text task's panel (#text-panel) carries its socket path while a job
// runs: the answers stream in, one <pre> per answer, pieces appended in sequence order, and the page reloads
// once the job has ended.
// If a socket cannot connect (or drops), the page says so, polls instead (the image panel here, the text panel
// by its own hx-trigger), and tries the socket again with a growing delay; once it is back, the notice goes.
(function () {
  "use strict";
  var IMAGE_POLL_MS = 1500;
  var RECONNECT_FIRST_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  var jobs = {};
  var textLive = null;

  function notice(text) {
    var el = document.getElementById("live-updates-notice");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  // A socket to `path` that hands each message to `options.message`; while it is down, it shows
  // `options.downNotice`, calls `options.down`, and is tried again with a growing delay until closed.
  function liveSocket(path, options) {
    var live = { socket: null, reconnect: null, retryDelay: RECONNECT_FIRST_MS, closed: false };

    function degrade() {
      live.socket = null;
      if (live.closed) return;
      notice(options.downNotice);
      if (options.down) options.down();
      if (live.reconnect) return;
      var delay = live.retryDelay;
      live.retryDelay = Math.min(delay * 2, RECONNECT_MAX_MS);
      live.reconnect = setTimeout(function () {
        live.reconnect = null;
        if (!live.closed && !live.socket) connect();
      }, delay);
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      // A path on this host (the proxy sends /ws/ to the websocket server), or a whole URL (WEBSOCKET_ORIGIN).
      var url = /^wss?:\/\//.test(path) ? path : scheme + location.host + path;
      var socket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        degrade();
        return;
      }
      live.socket = socket;
      socket.onopen = function () {
        live.retryDelay = RECONNECT_FIRST_MS;
        notice("");
        if (options.up) options.up();
      };
      socket.onmessage = function (event) { options.message(JSON.parse(event.data)); };
      socket.onclose = degrade;
    }

    live.close = function () {
      live.closed = true;
      if (live.socket) { live.socket.onclose = null; live.socket.close(); live.socket = null; }
      if (live.reconnect) { clearTimeout(live.reconnect); live.reconnect = null; }
      notice("");
    };
    connect();
    return live;
  }

  function within(root, id) {
    return root.id === id ? root : (root.querySelector && root.querySelector("#" + id));
  }

  // --- Image jobs ---

  function jobPanel(id) {
    return document.querySelector('#job-status[data-job-id="' + id + '"]');
  }

  function showProgress(id, step, total) {
    var el = jobPanel(id);
    if (!el) return;
    var bar = el.querySelector(".job-progress");
    var label = el.querySelector(".job-step");
    if (bar) { bar.setAttribute("max", total); bar.setAttribute("value", step); }
    if (label) label.textContent = "step " + step + " of " + total;
  }

  function refreshPanel(job) {
    if (jobPanel(job.id)) htmx.ajax("GET", job.statusUrl, { target: "#job-status", swap: "outerHTML" });
  }

  function stopPolling(job) {
    if (job.timer) { clearInterval(job.timer); job.timer = null; }
  }

  function stop(job) {
    if (job.live) { job.live.close(); job.live = null; }
    stopPolling(job);
  }

  function watchJob(job) {
    job.live = liveSocket(job.socketPath, {
      downNotice: "Live updates are unavailable; refreshing every " + IMAGE_POLL_MS / 1000 + " s.",
      down: function () {
        if (job.timer || job.finished) return;
        job.timer = setInterval(function () { refreshPanel(job); }, IMAGE_POLL_MS);
      },
      up: function () { stopPolling(job); },
      message: function (message) {
        if (message.type === "progress") {
          showProgress(job.id, message.step, message.total);
        } else if (message.type === "finished") {
          stop(job);
          refreshPanel(job);
        }
      }
    });
  }

  function trackJob(el) {
    var id = el.dataset.jobId;
    var job = jobs[id];
    if (!job) {
      job = jobs[id] = {
        id: id,
        socketPath: el.dataset.socketPath,
        statusUrl: el.dataset.statusUrl,
        candidatesUrl: el.dataset.candidatesUrl,
        seenActive: false,
        finished: false
      };
    }
    var status = el.dataset.jobStatus;
    if (status === "pending" || status === "running") {
      job.seenActive = true;
      if (!job.live && !job.timer) watchJob(job);
      return;
    }
    if (job.finished) return;
    job.finished = true;
    stop(job);
    // A page loaded after the job finished already shows the images.
    if (status === "succeeded" && job.seenActive) {
      htmx.ajax("GET", job.candidatesUrl, { target: "#candidates", swap: "outerHTML" });
    }
    var badge = document.getElementById("task-status");
    if (badge && job.seenActive && (status === "succeeded" || status === "failed")) {
      badge.className = "badge status-" + (status === "succeeded" ? "ready" : "failed");
      badge.textContent = status === "succeeded" ? "Ready for feedback" : "Failed";
    }
  }

  // --- Text answers ---

  function streamBox(index) {
    var streams = document.getElementById("llm-streams");
    var box = streams.querySelector('pre[data-candidate="' + index + '"]');
    if (!box) {
      box = document.createElement("pre");
      box.className = "answer streaming";
      box.dataset.candidate = index;
      box.dataset.nextSeq = "0";
      streams.appendChild(box);
    }
    return box;
  }

  function showText(event) {
    var box;
    if (event.type === "llm.start") {
      box = streamBox(event.candidate);
      box.textContent = "";
      box.dataset.nextSeq = "0";
    } else if (event.type === "llm.delta") {
      box = streamBox(event.candidate);
      if (event.seq >= Number(box.dataset.nextSeq)) {
        box.textContent += event.text;
        box.dataset.nextSeq = String(event.seq + 1);
      }
    } else if (event.type === "llm.done") {
      streamBox(event.candidate).classList.remove("streaming");
    } else if (event.type === "llm.status") {
      var status = document.getElementById("text-job-status");
      var message = document.getElementById("text-job-message");
      if (status) status.textContent = event.status;
      if (message) message.textContent = event.message;
      if (event.status === "succeeded" || event.status === "failed") {
        textLive.closed = true;
        window.location.reload();
      }
    }
  }

  // A panel swapped in for a new job replaces the socket of the one before.
  function trackText(panel) {
    if (!panel.dataset.ws) return;
    if (textLive) textLive.close();
    textLive = liveSocket(panel.dataset.ws, {
      downNotice: "Live updates are unavailable; refreshing every 5 s.",
      message: showText
    });
  }

  htmx.onLoad(function (root) {
    var jobEl = within(root, "job-status");
    if (jobEl && jobEl.dataset.jobId) trackJob(jobEl);
    var textEl = within(root, "text-panel");
    if (textEl) trackText(textEl);
  });
})();
