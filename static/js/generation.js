// Live progress of a generation job on the task page.
// The #job-status panel carries the job's id and URLs. While the job is pending or running, a
// websocket reports its steps. If the socket cannot connect (or drops), the page says so, polls the
// panel instead, and tries the socket again with a growing delay; once it is back, the notice goes
// and polling stops. When the job finishes, the panel is re-rendered and, on success, the candidate
// grid is swapped in with htmx: no page reload.
(function () {
  "use strict";
  var POLL_MS = 1500;
  var RECONNECT_FIRST_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  var jobs = {};

  function notice(text) {
    var el = document.getElementById("live-updates-notice");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  function panel(id) {
    return document.querySelector('#job-status[data-job-id="' + id + '"]');
  }

  function showProgress(id, step, total) {
    var el = panel(id);
    if (!el) return;
    var bar = el.querySelector(".job-progress");
    var label = el.querySelector(".job-step");
    if (bar) { bar.setAttribute("max", total); bar.setAttribute("value", step); }
    if (label) label.textContent = "step " + step + " of " + total;
  }

  function refreshPanel(job) {
    if (panel(job.id)) htmx.ajax("GET", job.statusUrl, { target: "#job-status", swap: "outerHTML" });
  }

  function stopPolling(job) {
    if (job.timer) { clearInterval(job.timer); job.timer = null; }
  }

  function stop(job) {
    if (job.socket) { job.socket.onclose = null; job.socket.close(); job.socket = null; }
    if (job.reconnect) { clearTimeout(job.reconnect); job.reconnect = null; }
    stopPolling(job);
    notice("");
  }

  function poll(job) {
    if (job.timer || job.finished) return;
    job.timer = setInterval(function () { refreshPanel(job); }, POLL_MS);
  }

  // The socket is gone: say so, poll meanwhile, and try the socket again later.
  function degrade(job) {
    job.socket = null;
    if (job.finished) return;
    notice("Live updates are unavailable; refreshing every " + POLL_MS / 1000 + " s.");
    poll(job);
    if (job.reconnect) return;
    var delay = job.retryDelay;
    job.retryDelay = Math.min(delay * 2, RECONNECT_MAX_MS);
    job.reconnect = setTimeout(function () {
      job.reconnect = null;
      if (!job.finished && !job.socket) connect(job);
    }, delay);
  }

  function connect(job) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + location.host + job.socketPath);
    } catch (error) {
      degrade(job);
      return;
    }
    job.socket = socket;
    socket.onopen = function () {
      job.retryDelay = RECONNECT_FIRST_MS;
      stopPolling(job);
      notice("");
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "progress") {
        showProgress(job.id, message.step, message.total);
      } else if (message.type === "finished") {
        stop(job);
        refreshPanel(job);
      }
    };
    socket.onclose = function () {
      degrade(job);
    };
  }

  function track(el) {
    var id = el.dataset.jobId;
    var job = jobs[id];
    if (!job) {
      job = jobs[id] = {
        id: id,
        socketPath: el.dataset.socketPath,
        statusUrl: el.dataset.statusUrl,
        candidatesUrl: el.dataset.candidatesUrl,
        seenActive: false,
        finished: false,
        retryDelay: RECONNECT_FIRST_MS
      };
    }
    var status = el.dataset.jobStatus;
    if (status === "pending" || status === "running") {
      job.seenActive = true;
      if (!job.socket && !job.timer && !job.reconnect) connect(job);
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

  htmx.onLoad(function (root) {
    var el = root.id === "job-status" ? root : (root.querySelector && root.querySelector("#job-status"));
    if (el && el.dataset.jobId) track(el);
  });
})();
