"""`doudi backup` → `doudi restore` on another site: the restored site verifies its audit log and serves its
attachments. Each site is a separate process with its own var directory (and, when the suite runs on
PostgreSQL, its own database)."""

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

MAKE_CASE_WITH_ATTACHMENT = f"""
import django
django.setup()
from doudi.accounts.services import create_staff_user
from doudi.intake import services
from doudi.regions.services import create_region
city = create_region(code="500000", name="重庆市", parent=None)
district = create_region(code="500101", name="万州区", parent=city)
township = create_region(code="500101001", name="高笋塘街道", parent=district)
village = create_region(code="500101001001", name="高笋塘社区", parent=township)
clerk = create_staff_user(username="clerk", password="Doudi-test-2020", region=township, roles=["township_officer"])
case = services.open_case(by=clerk, case_type="temporary", subtype="urgent", channel="walk_in", region=village,
                          summary="因疫情收入下降", applicant_name="李四")
print(services.add_attachment(case=case, by=clerk, name="证明.png", content={PNG!r}, label="收入证明").pk)
"""

DOWNLOAD = """
import sys
import django
django.setup()
from django.test import Client
from django.urls import reverse
from doudi.accounts.models import User
client = Client()
client.force_login(User.objects.get(username="clerk"))
response = client.get(reverse("intake:attachment", args=[int(sys.argv[1])]))
body = b"".join(response.streaming_content) if response.status_code == 200 else b""
print(response.status_code, body.hex())
"""


def _download(site, attachment):
    """(status, body as hex) of the attachment's download by its uploader, through Django's test client."""
    status, body = (site.run("-c", DOWNLOAD, str(attachment)).stdout.decode().split() + [""])[:2]
    return status, body


class Site:
    """A doudi installation: a var directory, and a PostgreSQL database when the suite runs on one."""

    def __init__(self, root: Path, database_url: str | None):
        self.var = root / "var"
        self.root = root
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        }
        self.env["DOUDI_VAR_DIR"] = str(self.var)
        self.env.pop("SECRET_KEY", None)
        self.env.pop("DOUDI_AUDIT_KEY", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url

    def run(self, *args, check=True):
        result = subprocess.run(
            [sys.executable, *args], cwd=self.root, env=self.env, capture_output=True, timeout=180
        )
        if check:
            assert result.returncode == 0, result.stderr.decode()
        return result

    def doudi(self, *args, check=True):
        result = self.run("-m", "doudi", *args, check=check)
        return result.returncode, result.stdout.decode() + result.stderr.decode()


@pytest.fixture
def make_site(tmp_path):
    """Sites on the suite's database engine; their PostgreSQL databases are dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    created: list[str] = []

    def make(name):
        url = None
        if base.startswith("postgres"):
            import psycopg

            db = f"doudi_bk_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
                con.execute(f"CREATE DATABASE {db}")
            created.append(db)
            url = base.rsplit("/", 1)[0] + "/" + db
        (tmp_path / name).mkdir()
        return Site(tmp_path / name, url)

    yield make
    if created:
        import psycopg

        with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
            for db in created:
                con.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture
def backed_up(make_site, tmp_path):
    """A site with a case and its attachment, and a backup of it."""
    site = make_site("old")
    site.doudi("migrate", "-v0")
    attachment = int(site.run("-c", MAKE_CASE_WITH_ATTACHMENT).stdout.decode().split()[-1])
    code, out = site.doudi("backup", "--out", str(tmp_path / "backups"))
    assert code == 0, out
    (archive,) = (tmp_path / "backups").glob("doudi-backup-*.tar.gz")
    return site, archive, attachment


def test_a_restored_site_verifies_its_audit_log_and_serves_the_attachment(backed_up, make_site):
    old, archive, attachment = backed_up
    new = make_site("new")
    code, out = new.doudi("restore", str(archive))
    assert code == 0, out
    assert "audit log intact" in out
    code, out = new.doudi("audit", "verify")
    assert code == 0 and "entries verified" in out, out
    assert _download(new, attachment) == ("200", PNG.hex())
    assert (new.var / "secret_key").read_text().strip() == (old.var / "secret_key").read_text().strip()
    assert oct((new.var / "audit_key").stat().st_mode & 0o777) == "0o600"


def test_the_archive_is_private_and_its_manifest_covers_every_member(backed_up):
    old, archive, _ = backed_up
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names - {"manifest.json"} == set(manifest["members"])
    assert {"secrets/secret_key", "secrets/audit_key"} <= names
    assert any(n.startswith("database.") for n in names)
    (media,) = [n for n in names if n.startswith("media/")]
    assert manifest["members"][media]["size"] == len(PNG)
    assert not list(archive.parent.glob(".*"))  # no partial file or work directory left behind


def test_restore_refuses_a_site_that_holds_data_unless_forced(backed_up):
    old, archive, attachment = backed_up
    old.run("-c", MAKE_CASE_WITH_ATTACHMENT.replace('"clerk"', '"clerk2"').replace("500", "510"))
    code, out = old.doudi("restore", str(archive), check=False)
    assert code != 0 and "this site is not empty (user accounts, audit entries, files in" in out
    code, out = old.doudi("restore", str(archive), "--force")
    assert code == 0 and "audit log intact" in out, out
    assert len(list((old.var / "media").rglob("*.png"))) == 1  # the later upload went with the rest
    assert _download(old, attachment) == ("200", PNG.hex())


def _repack(archive: Path, target: Path, change) -> Path:
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            member, data = change(member, data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m, d: (m, d + b"x") if m.name.startswith("media/") else (m, d), "does not match its SHA-256"),
        (lambda m, d: (m, d) if m.name != "manifest.json" else (m, b"{"), "no readable manifest.json"),
        (
            lambda m, d: (m, d) if not m.name.startswith("media/") else (tarfile.TarInfo("../evil.png"), d),
            "is not a plain file inside the site",
        ),
    ],
    ids=["damaged member", "damaged manifest", "path outside the site"],
)
def test_a_damaged_or_hostile_archive_is_refused_before_anything_is_written(
    backed_up, make_site, tmp_path, change, message
):
    _, archive, _ = backed_up
    bad = _repack(archive, tmp_path / "bad.tar.gz", change)
    new = make_site("new")
    code, out = new.doudi("restore", str(bad), check=False)
    assert code != 0 and message in out, out
    assert not (tmp_path / "evil.png").exists() and not (new.var / "media").exists()
    assert not (new.var / "audit_key").exists()
