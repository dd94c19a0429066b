/* 政策测算: bar chart of the cost difference per district, sorted by the change (the server sorts),
   with a title, axis titles with units and a legend (increase / decrease), every text from the
   json_script block the result partial renders (the CSP forbids inline scripts; the partial may arrive
   later by htmx). */
(function () {
  "use strict";

  var INCREASE = "rgba(185, 28, 28, 0.7)";
  var DECREASE = "rgba(25, 135, 84, 0.7)";

  function draw() {
    var source = document.getElementById("simulation-data");
    var canvas = document.getElementById("simulation-chart");
    if (!source || !canvas || canvas.dataset.drawn || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    canvas.dataset.drawn = "1";
    // one readable bar per district, every name shown
    canvas.parentNode.style.height = Math.max(240, 90 + 22 * data.labels.length) + "px";
    // Two series — increases and decreases — so the legend names both colours.
    var up = data.values.map(function (v) { return v > 0 ? v : null; });
    var down = data.values.map(function (v) { return v < 0 ? v : null; });
    var yuan = function (v) { return (v > 0 ? "+" : "") + Number(v).toLocaleString() + " " + data.unit; };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.increase, data: up, backgroundColor: INCREASE, skipNull: true },
          { label: data.decrease, data: down, backgroundColor: DECREASE, skipNull: true }
        ]
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        plugins: {
          title: { display: true, text: data.title },
          legend: { display: true, position: "bottom" },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + "：" + yuan(ctx.parsed.x); } } }
        },
        scales: {
          x: { title: { display: true, text: data.x_title }, ticks: { callback: function (v) { return Number(v).toLocaleString(); } } },
          y: { stacked: true, title: { display: true, text: data.y_title }, ticks: { autoSkip: false } }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
