"""Online applications: a case opens with channel portal and a tracking number (on screen and by SMS);
bad input gets field errors and writes nothing; the children's commitment only in the window; the
address selects cascade; the endpoint is rate-limited."""

import datetime

import pytest
from django.urls import reverse

from doudi.audit.models import AuditEntry
from doudi.intake.models import Attachment, Case
from doudi.portal.models import OutboxMessage
from portal.helpers import id_number, png

pytestmark = pytest.mark.django_db
D = datetime.date


def _post(client, scheme, data, **extra):
    return client.post(reverse("portal:apply", args=[scheme]), data, **extra)


def _nothing_written(settings):
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("scheme", ["dibao", "tekun", "children", "temporary"])
def test_apply_page_for_every_scheme(client, regions, scheme):
    response = client.get(reverse("portal:apply", args=[scheme]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="viewport"' in page and "提交申请" in page
    assert f'<option value="{regions.a.code}">万州区</option>' in page
    assert 'hx-get="/apply/regions/"' in page
    assert ('name="commitment"' in page) is False  # no window declared: no commitment box anywhere
    assert client.get(reverse("portal:apply", args=["nope"])).status_code == 404


def test_a_complete_application_opens_a_portal_case(client, regions, application, settings):
    data = application(proof_income_proof=png("income.png"))
    response = _post(client, "dibao", data)
    assert response.status_code == 302 and response["Location"] == reverse("portal:apply_done")
    case = Case.objects.get()
    assert (case.case_type, case.channel, case.state, case.region) == (
        "dibao",
        "portal",
        "submitted",
        regions.a_v,
    )
    assert case.tracking_number.startswith("CQ500101-")
    assert (case.applicant_name, case.applicant_phone, case.filed_by) == ("张伟", "13800138000", None)
    assert case.applicant_id_number == id_number() and case.applicant is None
    portal = case.details["portal"]
    assert portal["applicant_income_fen"] == 80000
    assert portal["members"] == [
        {"name": "李娜", "id_number": data["members-0-id_number"], "relation": "spouse", "income_fen": 0}
    ]
    assert case.details["consent"]["given_on"]
    attachment = Attachment.objects.get(case=case)
    assert (attachment.label, attachment.uploaded_by, attachment.content_type) == (
        "家庭成员收入证明（或收入情况说明）",
        None,
        "image/png",
    )
    assert AuditEntry.objects.filter(object_type="intake.case", object_id=str(case.pk)).exists()

    done = client.get(response["Location"]).content.decode()
    assert case.tracking_number in done and 'data-testid="sms-sent"' in done
    sms = OutboxMessage.objects.get()
    assert sms.phone == "13800138000" and case.tracking_number in sms.text and sms.case == case
    assert sms.purpose == "applied"


def test_the_done_page_belongs_to_the_session_that_applied(client, regions, application):
    _post(client, "dibao", application())
    from django.test import Client

    other = Client()
    assert other.get(reverse("portal:apply_done"))["Location"] == reverse("portal:apply_index")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("applicant_id_number", id_number()[:-1] + ("1" if id_number()[-1] == "0" else "0")),  # check digit
        ("applicant_id_number", "12345"),
        ("applicant_phone", "023-12345678"),  # a landline cannot receive the code
        ("applicant_phone", "1380013800"),
        ("village", "500101001"),  # a township, not a village
        ("reason", ""),
        ("consent", None),
    ],
)
def test_bad_input_gets_a_field_error_and_writes_nothing(
    client, regions, application, settings, field, value
):
    response = _post(client, "dibao", application(**{field: value}, proof_other=png()))
    page = response.content.decode()
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in page, page[:3000]
    _nothing_written(settings)


def test_bad_member_id_is_flagged_on_its_row(client, regions, application, settings):
    good = id_number(birth=D(1987, 9, 9), seq=2)
    bad = good[:-1] + ("1" if good[-1] == "0" else "0")  # wrong check digit
    response = _post(client, "dibao", application(**{"members-0-id_number": bad}))
    assert response.status_code == 400
    assert 'data-testid="error-members-0-id_number"' in response.content.decode()
    duplicate = _post(client, "dibao", application(**{"members-0-id_number": id_number()}))
    assert "身份证号重复" in duplicate.content.decode()
    _nothing_written(settings)


def test_a_file_that_is_not_what_it_claims_is_refused(client, regions, application, settings):
    fake = png("scan.pdf")  # PNG bytes named .pdf
    response = _post(client, "dibao", application(proof_income_proof=fake))
    assert response.status_code == 400
    assert 'data-testid="error-proof_income_proof"' in response.content.decode()
    _nothing_written(settings)


def test_registered_applicant_linked_only_when_id_and_phone_match(client, regions, application):
    from doudi.registry.models import Person

    person = Person.objects.create(
        id_number=id_number(),
        name="张伟",
        birth_date=D(1985, 4, 2),
        sex="M",
        region=regions.a_v,
        phone="13800138000",
    )
    _post(client, "dibao", application())
    assert Case.objects.get().applicant == person
    Person.objects.filter(pk=person.pk).update(phone="13900000000")
    _post(client, "tekun", application(applicant_phone="13800138001"))
    assert Case.objects.order_by("pk").last().applicant is None


def test_temporary_application_with_the_newly_poor_flag(client, regions, application):
    response = _post(client, "temporary", application(subtype="urgent", poverty="relapsed"))
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.case_type, case.subtype, case.details["poverty"]) == ("temporary", "urgent", "relapsed")
    assert _post(client, "temporary", application()).status_code == 400  # the type is required


# --- children: proofs or a commitment --------------------------------------------------------------------------


@pytest.fixture
def window(regions, make_user):
    from doudi.regions.services import declare_window

    admin = make_user("admin", regions.city, "municipal_admin")
    return declare_window(by=admin, name="疫情防控期间", start=D(2020, 1, 24), reason="一级响应")


def _child(application, **overrides):
    return application(
        subtype="orphan",
        child_name="王小明",
        child_id_number=id_number(birth=D(2012, 6, 1), seq=7),
        **overrides,
    )


def test_children_commitment_in_the_window(client, regions, application, window, freeze):
    freeze(D(2020, 3, 10))
    page = client.get(reverse("portal:apply", args=["children"])).content.decode()
    assert 'name="commitment"' in page and "疫情结束后补交" in page
    response = _post(client, "children", _child(application, commitment="on", proof_household_register=png()))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.case_type == "children" and case.details["child"]["name"] == "王小明"
    assert [i["key"] for i in case.details["deferred_documents"]] == ["parents_death", "guardian_statement"]
    assert case.details["proofs"] == ["household_register"]
    assert case.due_on == D(2020, 3, 31)  # decided and paid in the month of application


def test_children_without_proofs_or_commitment_are_told_what_is_missing(
    client, regions, application, window, settings
):
    response = _post(client, "children", _child(application))
    page = response.content.decode()
    assert response.status_code == 400 and 'data-testid="error-proofs"' in page
    assert "父母死亡证明" in page and "个人承诺" in page
    _nothing_written(settings)


def test_children_commitment_refused_outside_the_window(client, regions, application, settings):
    response = _post(client, "children", _child(application, commitment="on"))
    assert response.status_code == 400
    assert 'data-testid="error-commitment"' in response.content.decode()
    _nothing_written(settings)
    # With every proof uploaded the application goes through without a commitment.
    proofs = {
        f"proof_{k}": png(f"{k}.png") for k in ("parents_death", "household_register", "guardian_statement")
    }
    assert _post(client, "children", _child(application, **proofs)).status_code == 302
    assert Attachment.objects.count() == 3


def test_commitment_refused_for_other_schemes(client, regions, application, window):
    response = _post(client, "dibao", application(commitment="on"))
    assert response.status_code == 302  # the dibao form has no commitment field: the box is ignored
    assert "commitment" not in Case.objects.get().details


# --- htmx helpers --------------------------------------------------------------------------------------------------


def test_address_selects_cascade(client, regions):
    townships = client.get(reverse("portal:apply_regions"), {"district": regions.a.code}).content.decode()
    assert f'<option value="{regions.a_t.code}">高笋塘街道</option>' in townships
    assert 'hx-swap-oob="innerHTML"' in townships and 'name="village"' in townships  # village select reset
    villages = client.get(reverse("portal:apply_regions"), {"township": regions.a_t.code}).content.decode()
    assert "高笋塘社区" in villages and "太白社区" in villages and "五一路社区" not in villages


def test_member_rows_are_added_with_the_formset_count(client, regions):
    row = client.get(reverse("portal:apply_member_row"), {"index": 1}).content.decode()
    assert 'name="members-1-id_number"' in row
    assert 'id="id_members-TOTAL_FORMS" value="2" hx-swap-oob="true"' in row
    assert "index=2" in row
    assert client.get(reverse("portal:apply_member_row"), {"index": 10}).status_code == 204


def test_children_proofs_follow_the_kind_of_child(client, regions):
    page = client.get(reverse("portal:apply_children_proofs"), {"subtype": "hardship_child"}).content.decode()
    assert "困境情形证明" in page and "父母死亡证明" not in page


# --- messages and limits ---------------------------------------------------------------------------------------------


def test_application_survives_an_sms_gateway_that_is_not_configured(client, regions, application, settings):
    settings.DOUDI_SMS_BACKEND = "gateway"
    response = _post(client, "dibao", application())
    assert response.status_code == 302 and Case.objects.count() == 1
    assert 'data-testid="sms-failed"' in client.get(response["Location"]).content.decode()
    assert OutboxMessage.objects.count() == 0


def test_apply_is_rate_limited_per_ip(client, regions, application, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"ip": (2, 3600)}}
    for n in range(2):
        assert (
            _post(client, "dibao", application(applicant_id_number=id_number(seq=10 + n))).status_code == 302
        )
    response = _post(client, "dibao", application(applicant_id_number=id_number(seq=20)))
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()
    assert response["Retry-After"] == "3600"
    assert Case.objects.count() == 2
    other_ip = _post(
        client, "dibao", application(applicant_id_number=id_number(seq=21)), REMOTE_ADDR="10.0.0.9"
    )
    assert other_ip.status_code == 302


def test_apply_is_rate_limited_per_id_number_and_phone(client, regions, application, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"id": (1, 86400), "phone": (3, 86400)}}
    assert _post(client, "dibao", application(), REMOTE_ADDR="10.0.0.1").status_code == 302
    # Same ID elsewhere, another scheme; spelt with dashes and a lower-case x it is the same counter.
    number = id_number()
    spelt = f"{number[:6]}-{number[6:14]}-{number[14:]}".lower()
    assert (
        _post(client, "tekun", application(applicant_id_number=spelt), REMOTE_ADDR="10.0.0.2").status_code
        == 429
    )
    another = application(applicant_id_number=id_number(seq=5))
    assert _post(client, "dibao", another, REMOTE_ADDR="10.0.0.3").status_code == 302
    assert _post(client, "dibao", application(applicant_id_number=id_number(seq=6))).status_code == 302
    # Refused requests did not count: the fourth accepted one from this phone is one too many.
    fourth = _post(client, "dibao", application(applicant_id_number=id_number(seq=7)), REMOTE_ADDR="10.0.0.4")
    assert fourth.status_code == 429
    assert Case.objects.count() == 3


def test_corrections_do_not_count_against_the_limits(client, regions, application, settings):
    """A refused form costs nothing: five corrections, then the application goes through."""
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"ip": (1, 3600), "ip_id": (1, 3600), "id": (1, 86400)}}
    for phone in ("1380013800", "12345", "138001380000", "023-1234567", "abc"):
        assert _post(client, "dibao", application(applicant_phone=phone)).status_code == 400
    assert _post(client, "dibao", application()).status_code == 302


def test_neighbours_sharing_a_connection_are_not_locked_out(client, regions, application, settings):
    """A village office's connection: each applicant has their own allowance at that address."""
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"ip": (50, 3600), "ip_id": (1, 3600)}}
    for seq in range(30, 36):
        neighbour = application(applicant_id_number=id_number(seq=seq), applicant_phone=f"138001380{seq}")
        assert _post(client, "dibao", neighbour).status_code == 302
    again = _post(
        client, "tekun", application(applicant_id_number=id_number(seq=30), applicant_phone="13800138030")
    )
    assert again.status_code == 429
    assert Case.objects.count() == 6


def test_a_refused_application_keeps_everything_typed(client, regions, application, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"phone": (1, 86400)}}
    assert _post(client, "dibao", application()).status_code == 302
    data = application(applicant_id_number=id_number(seq=8), applicant_income="123.45")
    response = _post(client, "tekun", data)
    page = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "86400"
    assert 'data-testid="form-errors"' in page and "操作过于频繁" in page and "已保留" in page
    for value in (data["applicant_id_number"], "123.45", "李娜", data["members-0-id_number"]):
        assert f'value="{value}"' in page, value
    assert f"{data['reason']}</textarea>" in page
    assert f'<option value="{regions.a_v.code}" selected>' in page
    assert Case.objects.count() == 1


# --- the same application twice -----------------------------------------------------------------------------------


def test_the_same_application_again_answers_with_the_first_tracking_number(client, regions, application):
    first = _post(client, "dibao", application())
    case = Case.objects.get()
    again = _post(client, "dibao", application(applicant_name="张伟 ", reason="再次提交"))
    assert again.status_code == 302 and Case.objects.count() == 1
    done = client.get(again["Location"]).content.decode()
    assert case.tracking_number in done and 'data-testid="repeated"' in done and "sms-sent" not in done
    assert OutboxMessage.objects.count() == 1
    assert first["Location"] == again["Location"]
    # Another scheme is another application.
    assert _post(client, "tekun", application()).status_code == 302 and Case.objects.count() == 2


def test_the_same_id_number_with_another_phone_learns_no_tracking_number(client, regions, application):
    _post(client, "dibao", application())
    response = _post(client, "dibao", application(applicant_phone="13900139000"))
    page = response.content.decode()
    assert response.status_code == 400 and 'data-testid="error-applicant_id_number"' in page
    assert "正在办理" in page and Case.objects.get().tracking_number not in page
    assert Case.objects.count() == 1


def test_once_the_first_case_is_closed_a_new_application_opens_a_case(client, regions, application):
    from django.utils import timezone

    _post(client, "dibao", application())
    Case.objects.update(closed_at=timezone.now())
    assert _post(client, "dibao", application()).status_code == 302
    assert Case.objects.count() == 2 and OutboxMessage.objects.count() == 2


def test_two_simultaneous_submissions_make_one_case(client, regions, application, monkeypatch, settings):
    """The twin that loses the race on the unique key answers with the winner's case and leaves no file."""
    from doudi.portal import services
    from doudi.portal.models import Submission

    _post(client, "dibao", application())
    winner = Case.objects.get()

    class Racing:  # the twin's lookup ran before the winner committed
        class objects:
            select_for_update = staticmethod(lambda: Submission.objects.none())
            create = staticmethod(Submission.objects.create)
            filter = staticmethod(Submission.objects.filter)

    monkeypatch.setattr(services, "Submission", Racing)
    twin = _post(client, "dibao", application(proof_income_proof=png("income.png")))
    assert twin.status_code == 302 and Case.objects.get() == winner
    assert winner.tracking_number in client.get(twin["Location"]).content.decode()
    assert not Attachment.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def test_children_for_another_child_are_another_application(client, regions, application):
    proofs = lambda: {  # noqa: E731
        f"proof_{k}": png(f"{k}.png") for k in ("parents_death", "household_register", "guardian_statement")
    }
    assert _post(client, "children", _child(application, **proofs())).status_code == 302
    other = _child(application, **proofs())
    other["child_id_number"] = id_number(birth=D(2014, 2, 2), seq=9)
    assert _post(client, "children", other).status_code == 302
    assert Case.objects.count() == 2


def test_names_typed_with_invisible_characters_are_stored_clean(client, regions, application, make_user):
    """A zero-width space before the surname would otherwise show the given name on the public 公示."""
    from doudi.intake import services as intake

    data = application(applicant_name="\u200b张伟\u202c", **{"members-0-name": "李\u200d娜"})
    assert _post(client, "dibao", data).status_code == 302
    case = Case.objects.get()
    assert case.applicant_name == "张伟" and case.details["portal"]["members"][0]["name"] == "李娜"
    refused = _post(client, "tekun", application(applicant_name="\u200b\u200b"))
    assert refused.status_code == 400 and 'data-testid="error-applicant_name"' in refused.content.decode()
    officer = make_user("officer_t", regions.a_t, "township_officer")
    counter = intake.open_case(
        by=officer, case_type="temporary", subtype="urgent", channel="walk_in", region=regions.a_v,
        summary="窗口求助", applicant_name="\ufeff王\u200b五",
    )  # fmt: skip
    assert counter.applicant_name == "王五"
