// Live progress of a generation job on the task page.
// The #job-status panel carries the job's id and URLs. While the job is pending or running, a
// websocket reports its steps; if the socket cannot connect (or drops), the panel is polled
// instead. When the job finishes, the panel is re-rendered and, on success, the candidate grid
// is swapped in with htmx: no page reload.
(function () {
  "use strict";
  var POLL_MS = 1500;
  var jobs = {};

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

  function stop(job) {
    if (job.socket) { job.socket.onclose = null; job.socket.close(); job.socket = null; }
    if (job.timer) { clearInterval(job.timer); job.timer = null; }
  }

  function poll(job) {
    if (job.timer || job.finished) return;
    job.timer = setInterval(function () { refreshPanel(job); }, POLL_MS);
  }

  function connect(job) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + location.host + job.socketPath);
    } catch (error) {
      poll(job);
      return;
    }
    job.socket = socket;
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
      job.socket = null;
      poll(job);
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
        finished: false
      };
    }
    var status = el.dataset.jobStatus;
    if (status === "pending" || status === "running") {
      job.seenActive = true;
      if (!job.socket && !job.timer) connect(job);
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
