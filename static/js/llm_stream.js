// Streams LLM answers into the task page: one <pre> per answer, pieces appended in sequence order.
// Without a socket the panel's own poll (every 5 s) still reloads the page when the job ends; the page
// says so, and the socket is tried again with a growing delay until it is back.
(function () {
  "use strict";
  if (window.corralLlmStream) {
    window.corralLlmStream.connect();
    return;
  }
  const RECONNECT_FIRST_MS = 1000;
  const RECONNECT_MAX_MS = 30000;
  let socket = null;
  let retryDelay = RECONNECT_FIRST_MS;
  let ended = false;

  function notice(text) {
    const el = document.getElementById("live-updates-notice");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  function streamBox(index) {
    const streams = document.getElementById("llm-streams");
    let box = streams.querySelector(`pre[data-candidate="${index}"]`);
    if (!box) {
      box = document.createElement("pre");
      box.className = "answer streaming";
      box.dataset.candidate = index;
      box.dataset.nextSeq = "0";
      streams.appendChild(box);
    }
    return box;
  }

  function handle(event) {
    if (event.type === "llm.start") {
      const box = streamBox(event.candidate);
      box.textContent = "";
      box.dataset.nextSeq = "0";
    } else if (event.type === "llm.delta") {
      const box = streamBox(event.candidate);
      if (event.seq >= Number(box.dataset.nextSeq)) {
        box.textContent += event.text;
        box.dataset.nextSeq = String(event.seq + 1);
      }
    } else if (event.type === "llm.done") {
      streamBox(event.candidate).classList.remove("streaming");
    } else if (event.type === "llm.status") {
      const status = document.getElementById("text-job-status");
      const message = document.getElementById("text-job-message");
      if (status) status.textContent = event.status;
      if (message) message.textContent = event.message;
      if (event.status === "succeeded" || event.status === "failed") {
        ended = true;
        window.location.reload();
      }
    }
  }

  function connect() {
    const panel = document.getElementById("text-panel");
    if (!panel || !panel.dataset.ws || panel.dataset.connected) return;
    panel.dataset.connected = "1";
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${panel.dataset.ws}`);
    socket.onopen = () => {
      retryDelay = RECONNECT_FIRST_MS;
      notice("");
    };
    socket.onmessage = (message) => handle(JSON.parse(message.data));
    socket.onclose = () => {
      socket = null;
      if (ended) return;
      notice("Live updates are unavailable; refreshing every 5 s.");
      delete panel.dataset.connected;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, RECONNECT_MAX_MS);
    };
  }

  window.corralLlmStream = { connect };
  connect();
})();
