"""Signed checkpoints outside the database, and the audit key that is never in it."""

import json

import pytest

from doudi.audit.checkpoints import write_checkpoint
from doudi.audit.keys import AuditKeyMissing, audit_key
from doudi.audit.models import AuditEntry
from doudi.audit.services import checkpoint, record, verify_chain


@pytest.fixture
def cp_dir(settings, tmp_path):
    settings.DOUDI_AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.DOUDI_AUDIT_CHECKPOINT_DIR


def _append(n):
    for i in range(n):
        record(actor=None, action="action", object_type="test", object_id=str(i))


def _rewrite(path, **changes):
    body = json.loads(path.read_text())
    body.update(changes)
    path.write_text(json.dumps(body))


def test_checkpoints_agree_with_an_intact_log(db, cp_dir):
    _, empty = checkpoint()  # a new site: the empty chain
    _append(2)
    _, two = checkpoint()
    _append(1)
    assert json.loads(empty.read_text())["seq"] == 0 and json.loads(two.read_text())["seq"] == 2
    assert sorted(cp_dir.iterdir()) == sorted([empty, two])
    result = verify_chain()
    assert result.ok and result.checkpoints == 2 and result.checked == 3


def test_an_altered_checkpoint_is_reported(db, cp_dir):
    _append(2)
    _, path = checkpoint()
    _rewrite(path, seq=1)
    assert verify_chain().problems == [
        f"checkpoint {path}: signature does not match (the file was altered or forged)"
    ]


def test_a_checkpoint_that_disagrees_with_the_log_is_reported(db, cp_dir):
    """Signed with this site's key, same length, another last hash: the log was rewritten after it."""
    _append(2)
    path = write_checkpoint(audit_key(), seq=2, hash="f" * 64)
    at = json.loads(path.read_text())["at"]
    assert verify_chain().problems == [
        f"checkpoint {path}: entry 2 is not the one recorded at {at} (the log was rewritten)"
    ]


def test_checkpoints_signed_with_another_key_or_unreadable_are_reported(db, cp_dir):
    _append(1)
    foreign = write_checkpoint(bytes.fromhex("cd" * 32), seq=1, hash=AuditEntry.objects.get().hash)
    (cp_dir / "broken.json").write_text("{not json")
    foreign_problem, broken_problem = verify_chain([cp_dir]).problems  # files in name order
    assert foreign_problem.startswith(f"checkpoint {foreign}: signed with another audit key")
    assert broken_problem.startswith(f"checkpoint {cp_dir / 'broken.json'}: unreadable")


def test_verify_reads_the_checkpoints_it_is_given(db, cp_dir, tmp_path):
    _append(2)
    _, path = checkpoint(tmp_path / "supervisor")
    assert verify_chain().checkpoints == 0  # not in the configured directory
    assert verify_chain([path]).checkpoints == 1 and verify_chain([tmp_path / "supervisor"]).ok


def test_the_key_is_made_once_private_and_kept(db, settings, tmp_path):
    settings.DOUDI_AUDIT_KEY_FILE = tmp_path / "keys" / "audit_key"
    _append(1)
    key_file = settings.DOUDI_AUDIT_KEY_FILE
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    _append(1)
    assert key_file.read_text() == first and verify_chain().ok
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left behind
    key_hex = audit_key().hex()
    assert not AuditEntry.objects.filter(hash__contains=key_hex[:16]).exists()


def test_a_lost_key_is_reported_and_never_silently_replaced(db, settings, tmp_path):
    _append(1)
    settings.DOUDI_AUDIT_KEY_FILE = tmp_path / "gone"
    result = verify_chain()
    assert not result.ok and "the audit key file" in result.problems[-1]
    with pytest.raises(AuditKeyMissing):
        _append(1)
    assert not settings.DOUDI_AUDIT_KEY_FILE.exists()
