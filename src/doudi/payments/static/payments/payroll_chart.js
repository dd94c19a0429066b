/* 发放审核: this month against last month per district. Data comes from the json_script block (the CSP
   forbids inline scripts). */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("payroll-data");
    var canvas = document.getElementById("payroll-chart");
    var names = document.getElementById("payroll-labels");
    if (!source || !canvas || canvas.dataset.drawn || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: names ? names.dataset.current : "", data: data.current, backgroundColor: "rgba(13, 110, 253, 0.7)" },
          { label: names ? names.dataset.previous : "", data: data.previous, backgroundColor: "rgba(108, 117, 125, 0.5)" }
        ]
      },
      options: { indexAxis: "y", maintainAspectRatio: false }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
