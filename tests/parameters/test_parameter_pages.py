"""Console pages: the parameter list with unverified values flagged, history with sources, the
add-value form (municipal admin only, corrections confirmed), and the what-if page."""

import re
from datetime import date

from django.urls import reverse

from doudi.parameters.models import ParameterValue, SimulationRun
from doudi.parameters.services import add_parameter_value


def rows_of(html: str, name: str) -> list[str]:
    return re.findall(rf'<tr[^>]*data-parameter="{re.escape(name)}".*?</tr>', html, flags=re.S)


def test_list_flags_unverified_values(client, officer):
    client.force_login(officer)
    response = client.get(reverse("parameters:list"))
    assert response.status_code == 200
    html = response.content.decode()
    # in force today: urban 636 from 2021-09-01 is verified; the work-cost rate (a placeholder) is not
    assert 'data-testid="unverified"' in "".join(rows_of(html, "dibao.work_cost_deduction.rate"))
    assert 'data-testid="unverified"' not in "".join(rows_of(html, "covid.assistance_multiple"))
    assert 'data-testid="unverified-summary"' in html
    assert reverse("parameters:list") in html  # the console's navigation bar links the page


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("parameters:list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_history_page_shows_sources_and_flags(client, officer, admin):
    add_parameter_value(
        user=admin,
        name="dibao.standard.urban",
        effective_from=date(2020, 3, 1),
        value=700,
        reference="渝民发〔2020〕1号",
        reason="提高标准",
    )
    client.force_login(officer)
    html = client.get(reverse("parameters:detail", args=["dibao.standard.urban"])).content.decode()
    history = html[html.index('data-testid="history"') :]
    assert "渝民发〔2020〕1号" in history and "提高标准" in history and str(admin) in history
    assert "重庆市城市低保标准，2019-07-01起" in history  # the default's source, in Chinese
    assert history.count('data-testid="unverified"') == 2  # 546 (default) and 700 (stored, not verified)
    assert 'data-testid="add-value"' not in html  # an officer cannot add
    assert client.get(reverse("parameters:detail", args=["no.such"])).status_code == 404


def test_only_the_municipal_admin_may_open_the_form(client, officer, admin):
    client.force_login(officer)
    url = reverse("parameters:add", args=["dibao.standard.urban"])
    assert client.get(url).status_code == 403
    assert (
        client.post(
            url, {"effective_from": "2020-03-01", "value": "700", "reference": "x", "reason": "y"}
        ).status_code
        == 403
    )
    assert not ParameterValue.objects.exists()
    client.force_login(admin)
    assert client.get(url).status_code == 200
    assert client.get(reverse("parameters:add", args=["no.such"])).status_code == 404


def test_adding_and_correcting_through_the_form(client, admin):
    client.force_login(admin)
    url = reverse("parameters:add", args=["dibao.standard.urban"])
    form = {
        "effective_from": "2020-03-01",
        "value": "700.50",
        "reference": "渝民发〔2020〕1号",
        "reason": "提高标准",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    first = ParameterValue.objects.get()
    assert first.value == "700.50" and first.created_by == admin

    # the same date again: the page asks to confirm the correction and carries the row it corrects
    response = client.post(url, {**form, "value": "710"})
    assert response.status_code == 409
    assert f'name="supersedes" value="{first.pk}"' in response.content.decode()
    response = client.post(url, {**form, "value": "710", "supersedes": str(first.pk)})
    assert response.status_code == 302
    assert list(ParameterValue.objects.values_list("value", "revision")) == [("700.50", 1), ("710", 2)]


def test_form_shows_service_errors_on_their_fields(client, admin):
    client.force_login(admin)
    url = reverse("parameters:add", args=["covid.bereavement_assistance"])
    response = client.post(
        url,
        {
            "effective_from": "2020-03-01",
            "value": "5000.123",
            "region": "500101",
            "reference": "万州区民政局",
            "reason": "区县标准",
        },
    )
    assert response.status_code == 400
    assert 'data-testid="error-value"' in response.content.decode()
    response = client.post(
        url,
        {
            "effective_from": "2020-03-01",
            "value": "5000",
            "region": "500101",
            "reference": "万州区民政局",
            "reason": "区县标准",
        },
    )
    assert response.status_code == 302
    assert ParameterValue.objects.get().region == "500101"


def test_window_end_left_empty_means_not_declared(client, admin):
    client.force_login(admin)
    url = reverse("parameters:add", args=["emergency.window.end"])
    assert (
        client.post(
            url, {"effective_from": "2020-07-01", "value": "", "reference": "市政府通告", "reason": "撤回"}
        ).status_code
        == 302
    )
    assert ParameterValue.objects.get().value == "null"


# --- what-if ------------------------------------------------------------------------------------------


def test_simulation_page_is_for_municipal_users(client, officer, population):
    client.force_login(officer)
    assert client.get(reverse("parameters:simulate")).status_code == 403


def test_simulation_runs_in_the_background_and_shows_table_and_chart(
    client, admin, population, immediate_tasks, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    page = client.get(reverse("parameters:simulate"))
    assert page.status_code == 200 and 'value="synth"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("parameters:simulate"),
            {"period": "2020-03", "overrides": "dibao.standard.urban=700\n", "population": "synth"},
        )
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert run.status == "done", run.error
    assert run.overrides == {"dibao.standard.urban": "700"}
    assert (
        run.result["total"]["difference"] == run.result["total"]["scenario"] - run.result["total"]["baseline"]
    )
    assert run.result["total"]["difference"] > 0  # a higher standard costs more

    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="simulation-table"' in html
    assert 'id="simulation-data" type="application/json"' in html
    assert "parameters/simulation_chart.js" in html and "chart.umd.min.js" in html
    assert "<script>" not in html  # the CSP forbids inline scripts
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="simulation-result"') and "hx-get" not in partial


def test_unfinished_run_polls_itself(client, admin, population):
    run = SimulationRun.objects.create(period="2020-03", population="synth", created_by=admin)
    client.force_login(admin)
    partial = client.get(reverse("parameters:simulation", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="load delay:2s"' in partial.content.decode()


def test_simulation_form_reports_every_problem(client, admin, population):
    client.force_login(admin)
    response = client.post(
        reverse("parameters:simulate"),
        {"period": "2020-13", "overrides": "dibao.standard.urban=abc\nno.such=1", "population": "synth"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-period"' in html and "no.such" in html and "abc" in html
    assert not SimulationRun.objects.exists()


def test_simulate_and_evaluate_batch_commands(population, db, capsys, tmp_path):
    from django.core.management import call_command

    call_command(
        "simulate", "--period", "2020-03", "--set", "dibao.standard.urban=700", "--input", str(population)
    )
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split() == [
        "district",
        "name",
        "households",
        "baseline",
        "scenario",
        "difference",
        "gained",
        "lost",
    ]
    assert rows[-1].split()[0] == "all" and "万州区" in out

    call_command(
        "evaluate-batch",
        "--period",
        "2020-03",
        "--input",
        str(population),
        "--out",
        str(tmp_path / "result.parquet"),
    )
    totals = capsys.readouterr().out
    assert totals.splitlines()[0].split()[:3] == ["district", "households", "persons"]
    assert (tmp_path / "result.parquet").is_file() and (tmp_path / "result.households.parquet").is_file()
