"""The what-if chart in a real browser: drawn under the CSP, districts sorted by the change, with a
title, axis titles and a legend in Chinese."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.browser

PASSWORD = "Doudi-test-2020"


def test_the_chart_is_sorted_and_fully_labelled(browser, live_server, regions, make_user):
    from doudi.parameters.models import SimulationRun
    from doudi.parameters.simulation import chart

    admin = make_user("muni_admin_chart", regions.city, "municipal_admin", password=PASSWORD)
    rows = [
        {"district": "500101", "name": "万州区", "households": 2, "baseline": 100, "scenario": 90,
         "difference": -10, "gained": 0, "lost": 1},
        {"district": "500102", "name": "涪陵区", "households": 1, "baseline": 50, "scenario": 250,
         "difference": 200, "gained": 1, "lost": 0},
    ]  # fmt: skip
    total = {
        k: sum(r[k] for r in rows)
        for k in ("households", "baseline", "scenario", "difference", "gained", "lost")
    }
    run = SimulationRun.objects.create(
        period="2020-03", population="synth", status="done", created_by=admin,
        result={"rows": rows, "total": total, "chart": chart(rows)},
    )  # fmt: skip

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(live_server.url + reverse("console:login"))
    page.get_by_label("用户名").fill(admin.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(live_server.url + reverse("parameters:simulation", args=[run.pk]))
    page.wait_for_selector('#simulation-chart[data-drawn="1"]')
    drawn = page.evaluate(
        """() => { const c = Chart.getChart('simulation-chart'); return {
             labels: c.data.labels, legend: c.data.datasets.map(d => d.label),
             title: c.options.plugins.title.text, legendShown: c.options.plugins.legend.display,
             x: c.options.scales.x.title.text, y: c.options.scales.y.title.text}; }"""
    )
    assert drawn["labels"] == ["涪陵区", "万州区"]  # largest increase first
    assert drawn["legend"] == ["增加支出（元/月）", "减少支出（元/月）"] and drawn["legendShown"]
    assert drawn["x"] == "资金差额（元/月）" and drawn["y"] == "区县" and "排列" in drawn["title"]
    assert not errors, errors
    context.close()
