/* 监管看板 and 督查: one bar chart per <canvas data-chart="ID">, its data in the json_script block ID
   ({labels, current, previous}) and its two series' names in data-current / data-previous — the payroll
   review's chart (payments/payroll_chart.js) for any number of charts on a page. The CSP forbids inline
   scripts, so the data travels as JSON. */
(function () {
  "use strict";

  function draw() {
    if (typeof Chart === "undefined") {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source || canvas.dataset.drawn) {
        return;
      }
      var data = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: canvas.dataset.current || "", data: data.current, backgroundColor: "rgba(13, 110, 253, 0.7)" },
            { label: canvas.dataset.previous || "", data: data.previous, backgroundColor: "rgba(108, 117, 125, 0.5)" }
          ]
        },
        options: { indexAxis: canvas.dataset.axis || "y", maintainAspectRatio: false }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
