"""Bank files from the bank's template, the return file, and follow-up runs."""

import pytest
from django.core.exceptions import PermissionDenied

from doudi.core.errors import Conflict
from doudi.payments import bankfiles, services
from doudi.payments.models import BankFile, LineStatus, PaymentLine, ReturnImport
from doudi.policy.periods import Period
from payments.world import return_rows, sign_all

M = Period.parse("2020-03")


def confirmed_run(world):
    return sign_all(world, services.compute_run(services.freeze_run(month=M)))


def test_files_need_every_batch_confirmed(world):
    run = services.compute_run(services.freeze_run(month=M))
    with pytest.raises(Conflict):
        services.issue_bank_files(run=run, officer=world.users.finance)
    with pytest.raises(PermissionDenied):
        services.issue_bank_files(run=run, officer=world.users.a_officer)


def test_one_file_per_bank_with_control_total_and_hash(world, settings):
    run = confirmed_run(world)
    files = {f.bank.code: f for f in services.issue_bank_files(run=run, officer=world.users.finance)}
    assert set(files) == {"ICBC", "CQRCB"}
    icbc = files["ICBC"]
    content = (settings.DOUDI_DATA_DIR / icbc.path).read_bytes()
    assert bankfiles.sha256(content) == icbc.sha256
    text = content.decode("gb18030").splitlines()
    assert text[0] == "流水号,账号,户名,金额,摘要"
    issued = PaymentLine.objects.filter(issue_run=run, bank_code="ICBC")
    assert all(line.status == LineStatus.ISSUED for line in issued)
    assert text[-1] == f"合计,{issued.count()},{bankfiles.yuan_text(sum(line.amount_fen for line in issued))}"
    assert icbc.line_count == issued.count() == len(text) - 2
    # Fixed width: every line the same number of bytes; the amount right-aligned with zeros.
    fixed = (settings.DOUDI_DATA_DIR / files["CQRCB"].path).read_bytes().split(b"\r\n")[:-1]
    assert {len(line) for line in fixed[:-1]} == {71}
    assert fixed[-1].startswith(b"T")
    # Held lines (no account) are in no file; issuing again adds nothing.
    assert not PaymentLine.objects.filter(run=run, status="held", bank_code__in=["ICBC", "CQRCB"]).exists()
    again = services.issue_bank_files(run=run, officer=world.users.finance)
    assert sorted(f.pk for f in again) == sorted(f.pk for f in files.values())
    assert BankFile.objects.count() == 2


def test_render_is_deterministic_for_every_format():
    rows = [
        {
            "ref": "202003" + "1".zfill(10),
            "account_number": "6222020000000000018",
            "holder_name": "张三",
            "amount_fen": 33_800,
            "amount": "338.00",
            "scheme": "最低生活保障金",
            "scheme_code": "dibao",
            "month": "2020-03",
            "district": "500101",
            "beneficiary_id": 1,
        },
    ]
    for fmt in ("csv", "xlsx", "fixed"):
        template = {**bankfiles.DEFAULT_TEMPLATE, "format": fmt}
        if fmt == "fixed":
            template["columns"] = [{"field": "ref", "width": 16}, {"field": "holder_name", "width": 6}]
        first = bankfiles.render(template, rows)
        import time

        time.sleep(1.1)  # a timestamp of the second would show
        assert bankfiles.render(template, rows) == first


def test_fixed_width_never_cuts_a_value():
    template = {"format": "fixed", "encoding": "gb18030", "columns": [{"field": "holder_name", "width": 4}]}
    with pytest.raises(bankfiles.BankFileError, match="holder_name"):
        bankfiles.render(template, [{"holder_name": "欧阳娜娜", "amount_fen": 1}])  # 8 bytes in GB18030


@pytest.mark.parametrize(
    "template, needle",
    [
        ({"format": "pdf", "columns": [{"field": "ref"}]}, "format"),
        ({"format": "csv", "columns": []}, "columns"),
        ({"format": "csv", "columns": [{"field": "password"}]}, "field"),
        ({"format": "fixed", "columns": [{"field": "ref"}]}, "width"),
        ({"format": "csv", "encoding": "latin-1", "columns": [{"field": "ref"}]}, "encoding"),
        ({"format": "csv", "columns": [{"field": "ref", "pad": "  "}]}, "pad"),
        ({"format": "csv", "columns": [{"field": "ref", "title": "账\u200b号\n"}]}, "title"),
        ("csv", "JSON"),
    ],
)
def test_template_errors_name_the_problem(template, needle):
    assert any(needle in e for e in bankfiles.template_errors(template))


def test_return_refused_whole_on_one_bad_row(world):
    run = confirmed_run(world)
    icbc = next(
        f for f in services.issue_bank_files(run=run, officer=world.users.finance) if f.bank.code == "ICBC"
    )
    rows = return_rows(run, "ICBC")
    rows[-1]["amount_fen"] += 1
    rows.append(dict(rows[0]))  # a duplicate
    imported = services.import_return(
        bank_file=icbc,
        content=bankfiles.return_template(rows),
        file_name="r.csv",
        officer=world.users.finance,
    )
    assert imported.status == "refused"
    assert {p["field"] for p in imported.problems} == {"amount", "ref"}
    assert not PaymentLine.objects.filter(issue_run=run, status__in=["paid", "failed"]).exists()


def test_failed_lines_are_reissued_once_and_paid_lines_never(world):
    from doudi.payments.models import PayeeAccount
    from payments.world import account, luhn

    u = world.users
    run = confirmed_run(world)
    icbc = next(f for f in services.issue_bank_files(run=run, officer=u.finance) if f.bank.code == "ICBC")
    lower = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_lower.pk)
    imported = services.import_return(
        bank_file=icbc,
        content=bankfiles.return_template(return_rows(run, "ICBC", fail={lower.pk})),
        file_name="r.csv",
        officer=u.finance,
    )
    assert (imported.status, imported.failed_count) == ("loaded", 1)
    lower.refresh_from_db()
    assert (lower.status, lower.failure_code) == ("failed", "E01")
    paid = PaymentLine.objects.filter(issue_run=run, status="paid")
    paid_ids = set(paid.values_list("pk", flat=True))
    assert paid_ids
    # The same return again changes nothing; a return turning a paid line into a failure is refused.
    services.import_return(
        bank_file=icbc,
        content=bankfiles.return_template(return_rows(run, "ICBC", fail={lower.pk})),
        file_name="r.csv",
        officer=u.finance,
    )
    turned = services.import_return(
        bank_file=icbc,
        content=bankfiles.return_template(return_rows(run, "ICBC", fail=paid_ids)),
        file_name="r2.csv",
        officer=u.finance,
    )
    assert turned.status == "refused"
    # Not corrected yet: nothing to follow up.
    with pytest.raises(Conflict):
        services.create_follow_up(month=M)
    PayeeAccount.objects.filter(person=world.lower_head).update(status="superseded")
    new = account(world.lower_head, world.icbc, luhn("622202999999999999"))
    follow = services.compute_run(services.create_follow_up(month=M))
    assert follow.round == 1
    reissued = PaymentLine.objects.filter(issue_run=follow)
    assert list(reissued.values_list("pk", "account_id", "status")) == [(lower.pk, new.pk, "pending")]
    assert not reissued.filter(pk__in=paid_ids).exists()
    batch = follow.batches.get()
    services.sign_batch(batch=batch, action="submit", officer=u.a_officer)
    services.sign_batch(batch=batch, action="approve", officer=u.a_approver)
    services.sign_batch(batch=batch, action="confirm", officer=u.finance2)
    files = services.issue_bank_files(run=follow, officer=u.finance)
    assert [(f.bank.code, f.line_count, f.total_fen) for f in files] == [("ICBC", 1, 50_000)]
    rows = return_rows(follow, "ICBC")
    services.import_return(
        bank_file=files[0], content=bankfiles.return_template(rows), file_name="r3.csv", officer=u.finance
    )
    lower.refresh_from_db()
    assert lower.status == "paid"
    # Every line paid at most once: one line per key, and nothing left to follow up.
    assert (
        PaymentLine.objects.filter(month="2020-03", beneficiary_id=world.h_lower.pk, scheme="dibao").count()
        == 1
    )
    with pytest.raises(Conflict):
        services.create_follow_up(month=M)
    assert ReturnImport.objects.filter(status="loaded").count() == 3


def test_download_is_audited_as_export(world):
    from doudi.audit.models import AuditEntry

    run = confirmed_run(world)
    f = services.issue_bank_files(run=run, officer=world.users.finance)[0]
    content = services.record_download(bank_file=f, officer=world.users.finance)
    assert bankfiles.sha256(content) == f.sha256
    assert AuditEntry.objects.filter(action="export", object_id=str(f.pk)).exists()


def test_a_line_held_for_want_of_an_account_is_paid_by_a_follow_up_once_it_has_one(world):
    from payments.world import account, luhn

    u = world.users
    run = confirmed_run(world)
    services.issue_bank_files(run=run, officer=u.finance)
    held = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_noacct.pk)
    assert (held.status, held.flag) == ("held", "no_account")
    with pytest.raises(Conflict):  # still no account
        services.create_follow_up(month=M)
    account(world.noacct_head, world.rcb, luhn("622202888888888888"))
    follow = services.compute_run(services.create_follow_up(month=M))
    held.refresh_from_db()
    assert (held.issue_run_id, held.status, held.flag, held.bank_code) == (follow.pk, "pending", "", "CQRCB")
    assert held.amount_fen == 44_600  # 546 − 100: the raise the rules find, enrolled at 436


def test_csv_is_written_as_the_csv_module_writes_it_quotes_commas_and_line_breaks():
    import csv
    import io

    names = ["张三", "Li, Si", 'Wang "Wu"', "a\nb", "", " 空格 "]
    rows = [
        {"ref": f"2020030000{i:06d}", "holder_name": name, "amount_fen": 100 * i + i, "scheme": "dibao"}
        for i, name in enumerate(names)
    ]
    template = {
        "format": "csv",
        "encoding": "gb18030",
        "header": True,
        "trailer": True,
        "columns": [
            {"field": "ref", "title": "流水号"},
            {"field": "holder_name", "title": "户,名"},
            {"field": "amount"},
            {"field": "scheme"},
        ],
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["流水号", "户,名", "金额（元）", "发放项目"])
    for r in rows:
        writer.writerow([r["ref"], r["holder_name"], bankfiles.yuan_text(r["amount_fen"]), "最低生活保障金"])
    writer.writerow(["合计", "6", bankfiles.yuan_text(sum(r["amount_fen"] for r in rows))])
    assert bankfiles.render(template, rows) == out.getvalue().encode("gb18030")
    # One column alone: an empty value is written as "" (as csv.writer does).
    alone = {**template, "header": False, "trailer": False, "columns": [{"field": "holder_name"}]}
    assert bankfiles.render(alone, rows[4:5]) == b'""\r\n'


def test_fixed_width_pads_by_bytes_of_the_encoding():
    template = {
        "format": "fixed",
        "encoding": "gb18030",
        "trailer": True,
        "columns": [
            {"field": "holder_name", "width": 8},
            {"field": "amount_fen", "width": 6, "align": "right", "pad": "0"},
        ],
    }
    content = bankfiles.render(
        template, [{"holder_name": "张三", "amount_fen": 338}, {"holder_name": "Li", "amount_fen": 5}]
    )
    assert (
        content
        == "张三    000338\r\nLi      000005\r\n".encode("gb18030")
        + b"T0000000002"
        + b"343".zfill(16)
        + b"\r\n"
    )


def test_issuing_updates_the_lines_in_place_on_postgresql(world):
    """Issuing a month's bank files marks every line issued: on PostgreSQL a heap-only (HOT) update,
    which no index entry follows — not a second copy of each line and of its index entries."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(reason="needs PostgreSQL: heap-only updates and table statistics are PostgreSQL's")
    run = confirmed_run(world)

    def updates() -> tuple[int, int]:
        """Lines updated so far, and of those in place (the partitions' cumulative statistics, this
        connection's pending counts flushed first)."""
        with connection.cursor() as c:
            c.execute("SELECT pg_stat_force_next_flush()")
            c.execute("SELECT 1")
            c.execute("SELECT pg_stat_clear_snapshot()")
            c.execute(
                "SELECT COALESCE(sum(n_tup_upd), 0), COALESCE(sum(n_tup_hot_upd), 0) FROM pg_stat_user_tables "
                "WHERE relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'payments_paymentline'::regclass)"
            )
            return c.fetchone()

    before = updates()
    services.issue_bank_files(run=run, officer=world.users.finance)
    after = updates()
    updated, in_place = after[0] - before[0], after[1] - before[1]
    issued = PaymentLine.objects.filter(issue_run=run, status=LineStatus.ISSUED).count()
    assert issued >= 5 and updated == issued and in_place == updated


def test_a_file_written_in_pieces_is_the_file_written_whole(monkeypatch):
    rows = [
        {
            "ref": f"2020030000{i:06d}",
            "holder_name": "张三" if i % 2 else "Li, Si",
            "amount_fen": i,
            "scheme": "dibao",
        }
        for i in range(7)
    ]
    fixed = {
        "format": "fixed",
        "encoding": "gb18030",
        "trailer": True,
        "columns": [{"field": "ref", "width": 16}, {"field": "holder_name", "width": 6}],
    }
    csv_ = {
        **bankfiles.DEFAULT_TEMPLATE,
        "columns": [{"field": "ref"}, {"field": "holder_name"}, {"field": "amount"}],
    }
    whole = {name: bankfiles.render(t, rows) for name, t in (("fixed", fixed), ("csv", csv_))}
    monkeypatch.setattr(bankfiles, "CHUNK", 2)
    assert {name: bankfiles.render(t, rows) for name, t in (("fixed", fixed), ("csv", csv_))} == whole
    # The line named by an error counts from the file's start, not the piece's.
    rows[5]["holder_name"] = "欧阳娜娜"
    with pytest.raises(bankfiles.BankFileError, match="第 6 笔"):
        bankfiles.render(fixed, rows)
