// The dashboard's charts, drawn by Chart.js from the figures the page embeds (the tables beside them hold the
// same numbers). Series differ by fill pattern, line dash and marker shape as well as colour, so the charts
// read without colour too.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-figures");
  if (!source || !window.Chart) return;
  const COLOURS = ["#2f6fde", "#d4a017", "#1d8a4e", "#b3261e"];
  const MARKERS = ["circle", "triangle", "rect", "crossRot"];
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];

  function pattern(number, colour) {
    const size = 10;
    const tile = document.createElement("canvas");
    tile.width = tile.height = size;
    const pen = tile.getContext("2d");
    pen.fillStyle = colour + "44";
    pen.fillRect(0, 0, size, size);
    pen.strokeStyle = pen.fillStyle = colour;
    pen.lineWidth = 2;
    pen.beginPath();
    if (number % 4 === 0) {
      pen.fillRect(0, 0, size, size);
    } else if (number % 4 === 1) {
      pen.moveTo(0, size);
      pen.lineTo(size, 0);
      pen.stroke();
    } else if (number % 4 === 2) {
      pen.arc(size / 2, size / 2, 2, 0, 2 * Math.PI);
      pen.fill();
    } else {
      pen.moveTo(0, size / 2);
      pen.lineTo(size, size / 2);
      pen.stroke();
    }
    return pen.createPattern(tile, "repeat");
  }

  for (const figure of JSON.parse(source.textContent)) {
    const canvas = document.getElementById("chart-" + figure.id);
    if (!canvas) continue;
    const line = figure.chart === "line";
    const stacked = figure.chart.startsWith("stacked");
    const datasets = figure.series
      .filter((series) => series.plot !== false)
      .map((series, number) => {
        const colour = COLOURS[number % COLOURS.length];
        return {
          label: series.label,
          data: series.data,
          backgroundColor: line ? colour : pattern(number, colour),
          borderColor: colour,
          borderWidth: line ? 2 : 1,
          borderDash: line ? DASHES[number % DASHES.length] : [],
          pointStyle: MARKERS[number % MARKERS.length],
          pointRadius: 5,
          spanGaps: true,
        };
      });
    new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: figure.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: figure.chart === "stacked-hbar" ? "y" : "x",
        scales: {
          x: { stacked: stacked },
          y: { stacked: stacked, beginAtZero: true, max: figure.y_max },
        },
        plugins: { legend: { labels: { usePointStyle: line } } },
      },
    });
  }
})();
