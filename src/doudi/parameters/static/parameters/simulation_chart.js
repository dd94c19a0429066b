/* 政策测算: bar chart of the cost difference per district. Data comes from the json_script block
   the result partial renders (the CSP forbids inline scripts); the partial may arrive later by htmx. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("simulation-data");
    var canvas = document.getElementById("simulation-chart");
    if (!source || !canvas || canvas.dataset.drawn || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: data.label,
          data: data.values,
          backgroundColor: data.values.map(function (v) { return v >= 0 ? "rgba(185, 28, 28, 0.7)" : "rgba(25, 135, 84, 0.7)"; })
        }]
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: data.label } } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
