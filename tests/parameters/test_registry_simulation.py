"""政策测算 on the registry: the registry is frozen into a snapshot (time, counts, SHA-256) and the what-if
runs on it; a household added later changes the next run's baseline, never an earlier snapshot's; the
chart is sorted by the change and fully labelled."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from benefits.support import make_household
from doudi.parameters import services
from doudi.parameters.models import RegistrySnapshot, SimulationRun
from doudi.payments.payroll import snapshot_sha256
from doudi.registry.models import Person

# The freeze reads committed rows (ADBC on PostgreSQL, as the worker does after the run is committed).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def registry(regions, settings, tmp_path, immediate_tasks):
    """Three households in the registry: two in 万州区 (one poor), one in 涪陵区."""
    settings.DOUDI_DATA_DIR = tmp_path
    poor, _ = make_household(regions.a_v, [("张一", 30_000), ("李二", 0)])
    make_household(regions.a_v2, [("王三", 900_000)])
    make_household(regions.b_v, [("赵四", 10_000), ("钱五", 0), ("孙六", 0)])
    return poor


def _run(admin, population, django_capture_on_commit_callbacks, overrides="dibao.standard.urban=700"):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_simulation(
            user=admin, period="2020-03", overrides_text=overrides, population=population
        )
    run = SimulationRun.objects.select_related("snapshot").get(pk=run.pk)
    assert run.status == "done", run.error
    return run


def test_a_run_on_the_registry_freezes_it_and_says_what_it_ran_on(
    admin, registry, django_capture_on_commit_callbacks, settings
):
    run = _run(admin, "registry", django_capture_on_commit_callbacks)
    snap = run.snapshot
    assert (snap.households, snap.persons, snap.month) == (3, 6, "2020-03")
    directory = Path(settings.DOUDI_DATA_DIR) / snap.directory
    assert (directory / "households.parquet").is_file() and snapshot_sha256(directory) == snap.sha256
    assert pq.read_table(directory / "accounts.parquet").num_rows == 0  # no payee accounts in a what-if
    rows = {row["district"]: row for row in run.result["rows"]}
    assert rows["500101"]["households"] == 2 and rows["500102"]["households"] == 1
    assert rows["500101"]["name"] == "万州区"
    assert run.result["total"]["baseline"] > 0 and run.result["total"]["difference"] > 0


def test_a_household_added_changes_the_next_run_but_not_an_earlier_snapshot(
    admin, regions, registry, django_capture_on_commit_callbacks
):
    first = _run(admin, "registry", django_capture_on_commit_callbacks)
    before = first.result["total"]

    make_household(regions.b_v, [("周七", 0), ("吴八", 0)])  # a new poor household in 涪陵区
    Person.objects.filter(memberships__household=registry).update(income_wage_fen=0)

    second = _run(admin, "registry", django_capture_on_commit_callbacks)
    assert second.snapshot_id != first.snapshot_id
    assert second.result["total"]["households"] == before["households"] + 1
    assert second.result["total"]["baseline"] > before["baseline"]

    again = _run(admin, f"snapshot:{first.snapshot_id}", django_capture_on_commit_callbacks)
    assert again.snapshot_id == first.snapshot_id
    assert again.result == first.result  # the snapshot taken before the edits did not change
    assert RegistrySnapshot.objects.count() == 2


def test_the_result_page_names_the_snapshot_and_the_chart_is_sorted_and_labelled(
    client, admin, registry, django_capture_on_commit_callbacks
):
    run = _run(
        admin,
        "registry",
        django_capture_on_commit_callbacks,
        overrides="dibao.standard.rural=1\ndibao.standard.urban=800",
    )
    client.force_login(admin)
    html = client.get(reverse("parameters:simulation", args=[run.pk])).content.decode()
    assert "户籍库快照" in html and run.snapshot.sha256 in html and "3 户、6 人" in html
    data = json.loads(html.split('id="simulation-data" type="application/json">')[1].split("</script>")[0])
    assert data["values"] == sorted(data["values"], reverse=True)
    assert set(data["labels"]) == {"万州区", "涪陵区"}
    assert data["x_title"] == "资金差额（元/月）" and data["y_title"] == "区县"
    assert data["increase"] and data["decrease"] and "排列" in data["title"]


def test_the_form_offers_the_registry_and_earlier_snapshots_and_refuses_an_unknown_one(
    client, admin, registry, django_capture_on_commit_callbacks
):
    run = _run(admin, "registry", django_capture_on_commit_callbacks)
    client.force_login(admin)
    page = client.get(reverse("parameters:simulate")).content.decode()
    assert 'value="registry"' in page and f'value="snapshot:{run.snapshot_id}"' in page
    for bad in (
        "snapshot:not-a-uuid",
        "snapshot:00000000-0000-0000-0000-000000000000",
        "../etc",
        "registry-snapshots",
    ):
        response = client.post(
            reverse("parameters:simulate"), {"period": "2020-03", "overrides": "", "population": bad}
        )
        assert response.status_code == 400, bad
    assert SimulationRun.objects.count() == 1


def test_the_command_runs_on_the_registry_and_names_the_snapshot(registry, capsys):
    from django.core.management import call_command

    call_command("simulate", "--period", "2020-03", "--set", "dibao.standard.urban=700", "--registry")
    first, header, *rows = capsys.readouterr().out.strip().splitlines()
    snap = RegistrySnapshot.objects.get()
    assert (
        first.startswith("registry snapshot") and snap.sha256 in first and "3 households, 6 persons" in first
    )
    assert header.split()[0] == "district" and rows[-1].split()[:2] == ["all", "3"]
