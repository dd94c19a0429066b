"""Status tracking: tracking number + ID number + SMS code (6 digits, 10 minutes, 5 tries, hashed at
rest), the same answer for any mismatch, the citizen's view of the timeline, later uploads, limits."""

import datetime
import re

import pytest
from django.urls import reverse

from doudi.intake import services as intake
from doudi.intake.models import Attachment, Case
from doudi.portal import services
from doudi.portal.models import OutboxMessage, VerificationCode
from portal.helpers import id_number, png

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def applied(client, regions, application):
    """A dibao application made on the portal; returns the case."""
    client.post(reverse("portal:apply", args=["dibao"]), application())
    OutboxMessage.objects.all().delete()
    return Case.objects.get()


def _send(client, case, id_number_=None, **extra):
    return client.post(
        reverse("portal:status"),
        {
            "op": "send",
            "tracking_number": case.tracking_number,
            "id_number": id_number_ or case.applicant_id_number,
        },
        **extra,
    )


def _verify(client, case, code, id_number_=None, tracking=None, **extra):
    return client.post(
        reverse("portal:status"),
        {
            "op": "verify",
            "tracking_number": tracking or case.tracking_number,
            "id_number": id_number_ or case.applicant_id_number,
            "code": code,
        },
        **extra,
    )


def _last_code() -> str:
    return re.search(
        r"验证码为 (\d{6})", OutboxMessage.objects.filter(purpose="status_code").first().text
    ).group(1)


def test_code_sent_to_the_phone_on_file_and_status_shown(client, applied):
    response = _send(client, applied)
    assert response.status_code == 200 and "验证码已发送" in response.content.decode()
    sms = OutboxMessage.objects.get()
    assert sms.phone == "13800138000" and sms.case == applied
    code = _last_code()
    stored = VerificationCode.objects.get()
    assert code not in (stored.code_hash, stored.salt) and len(stored.code_hash) == 64  # hashed at rest
    assert stored.expires_at - stored.created_at == datetime.timedelta(minutes=10)

    response = _verify(client, applied, code)
    assert response.status_code == 302 and response["Location"] == reverse("portal:status_case")
    page = client.get(response["Location"]).content.decode()
    assert applied.tracking_number in page and "待受理" in page and "提交申请" in page
    # The code is single-use.
    assert _verify(client, applied, code).status_code == 404


def test_same_answer_for_any_mismatch(client, regions, applied, application):
    _send(client, applied)
    code = _last_code()
    wrong_digit = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        _verify(client, applied, code, tracking="CQ500101-20200101-99999"),  # no such case
        _verify(client, applied, code, id_number_=id_number(seq=99)),  # someone else's ID number
        _verify(client, applied, wrong_digit),  # wrong code
        _verify(client, applied, "12"),  # malformed code
    ]
    bodies = {r.status_code for r in answers}
    assert bodies == {404}
    messages = {
        re.search(r'data-testid="status-error">([^<]*)<', r.content.decode()).group(1) for r in answers
    }
    assert len(messages) == 1 and "未找到匹配的申请" in messages.pop()
    # Only a request matching tracking number and ID number sends anything, and the page says the same.
    other = _send(client, applied, id_number_=id_number(seq=98))
    assert "验证码已发送" in other.content.decode()
    assert OutboxMessage.objects.count() == 1


def test_wrong_codes_count_and_the_fifth_kills_the_code(client, applied):
    _send(client, applied)
    code = _last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for n in range(1, services.CODE_MAX_ATTEMPTS + 1):
        assert _verify(client, applied, wrong).status_code == 404
        assert VerificationCode.objects.get().attempts == n
    assert _verify(client, applied, code).status_code == 404  # the right code no longer works


def test_expired_code_refused(client, applied, freeze):
    start = freeze(datetime.datetime(2020, 3, 10, 9, 0))
    _send(client, applied)
    code = _last_code()
    freeze(start + datetime.timedelta(minutes=10, seconds=1))
    assert _verify(client, applied, code).status_code == 404
    # A new code (after the resend pause) works.
    _send(client, applied)
    assert _verify(client, applied, _last_code()).status_code == 302


def test_a_new_code_supersedes_the_old_one_and_resends_are_spaced(client, applied, freeze):
    start = freeze(datetime.datetime(2020, 3, 10, 9, 0))
    _send(client, applied)
    first = _last_code()
    _send(client, applied)  # within a minute: nothing new is sent
    assert OutboxMessage.objects.count() == 1
    freeze(start + datetime.timedelta(minutes=2))
    _send(client, applied)
    second = _last_code()
    assert OutboxMessage.objects.count() == 2
    if first != second:
        assert _verify(client, applied, first).status_code == 404
    assert _verify(client, applied, second).status_code == 302


def test_status_page_speaks_to_the_citizen(client, regions, applied, make_user):
    township = make_user("officer_t", regions.a_t, "township_officer")
    intake.add_comment(case=applied, by=township, text="内部意见：需入户核查")
    case = intake.perform_action(
        case=applied,
        action="request_missing",
        by=township,
        data={"items": "户口簿复印件\n2020年2月工资流水"},
    )
    intake.add_attachment(case=case, by=township, name="visit.png", content=png().read(), label="入户照片")
    _send(client, case)
    client.post(
        reverse("portal:status"),
        {
            "op": "verify",
            "tracking_number": case.tracking_number.lower(),
            "id_number": case.applicant_id_number,
            "code": _last_code(),
        },
    )
    page = client.get(reverse("portal:status_case")).content.decode()
    assert "需要补充材料" in page and "户口簿复印件" in page and "2020年2月工资流水" in page
    assert 'data-testid="missing"' in page
    assert "officer_t" not in page and "内部意见" not in page and "入户照片" not in page
    # The missing items can be sent from here.
    response = client.post(reverse("portal:status_upload"), {"key": "missing-0", "file": png("hukou.png")})
    assert response.status_code == 302
    attachment = Attachment.objects.get(case=case, uploaded_by__isnull=True)
    assert attachment.label == "户口簿复印件"
    # A refusal shows its reasons (owed to the applicant in writing).
    case = intake.perform_action(
        case=Case.objects.get(pk=case.pk), action="reject", by=township, reason="户籍和居住地均不在本辖区"
    )
    page = client.get(reverse("portal:status_case")).content.decode()
    assert (
        "不予受理" in page and "户籍和居住地均不在本辖区" in page and 'data-testid="upload-form"' not in page
    )


def test_the_verified_session_expires(client, applied, freeze):
    start = freeze(datetime.datetime(2020, 3, 10, 9, 0))
    _send(client, applied)
    _verify(client, applied, _last_code())
    assert client.get(reverse("portal:status_case")).status_code == 200
    freeze(start + datetime.timedelta(minutes=16))
    assert client.get(reverse("portal:status_case"))["Location"] == reverse("portal:status")
    response = client.post(reverse("portal:status_upload"), {"key": "other", "file": png()})
    assert response["Location"] == reverse("portal:status") and not Attachment.objects.exists()


def test_children_deferred_proof_uploaded_later(client, regions, application, make_user, freeze):
    from doudi.regions.services import declare_window

    freeze(datetime.datetime(2020, 3, 10, 9, 0))
    admin = make_user("admin", regions.city, "municipal_admin")
    declare_window(by=admin, name="疫情防控期间", start=D(2020, 1, 24), reason="一级响应")
    client.post(
        reverse("portal:apply", args=["children"]),
        application(
            subtype="orphan",
            child_name="王小明",
            child_id_number=id_number(birth=D(2012, 6, 1), seq=7),
            commitment="on",
        ),
    )
    case = Case.objects.get()
    _send(client, case)
    _verify(client, case, _last_code())
    page = client.get(reverse("portal:status_case")).content.decode()
    assert 'data-testid="deferred"' in page and "父母死亡证明" in page and "疫情结束后补交" in page
    client.post(reverse("portal:status_upload"), {"key": "parents_death", "file": png("death.png")})
    case.refresh_from_db()
    item = next(i for i in case.details["deferred_documents"] if i["key"] == "parents_death")
    assert item["status"] == "submitted" and item["attachment"] == Attachment.objects.get(case=case).pk
    bad = client.post(
        reverse("portal:status_upload"), {"key": "guardian_statement", "file": png("x.pdf")}, follow=True
    )
    assert "不符" in bad.content.decode() and Attachment.objects.filter(case=case).count() == 1


def test_code_requests_and_checks_are_rate_limited(client, applied, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"code": {"ip": (2, 3600)}, "status": {"id": (3, 3600)}}
    assert _send(client, applied).status_code == 200
    assert _send(client, applied).status_code == 200
    limited = _send(client, applied)
    assert limited.status_code == 429 and "操作过于频繁" in limited.content.decode()
    for _ in range(3):
        assert _verify(client, applied, "000000", REMOTE_ADDR="10.1.1.1").status_code == 404
    assert _verify(client, applied, "000000", REMOTE_ADDR="10.1.1.2").status_code == 429  # per ID, any IP


def test_no_sms_backend_no_code(client, applied, settings):
    settings.DOUDI_SMS_BACKEND = "gateway"
    response = _send(client, applied)
    assert response.status_code == 503 and "短信服务暂不可用" in response.content.decode()
    assert not VerificationCode.objects.exists()


def test_every_spelling_of_one_tracking_or_id_number_is_one_counter(client, applied, settings):
    """A space in the tracking number or a dash in the ID number reaches the same case: the same counter."""
    settings.DOUDI_PORTAL_RATE_LIMITS = {
        "status": {"ip": (100, 3600), "id": (100, 3600), "tracking": (3, 3600)}
    }
    number = applied.applicant_id_number
    spellings = [
        (applied.tracking_number, number),
        (applied.tracking_number.replace("-", " - ").lower(), f"{number[:6]}-{number[6:14]}-{number[14:]}"),
        (applied.tracking_number.replace("-", "- "), number.lower()),
    ]
    for tracking, id_number_ in spellings:
        assert _verify(client, applied, "000000", id_number_=id_number_, tracking=tracking).status_code == 404
    fourth = _verify(client, applied, "000000", tracking=f" {applied.tracking_number} ")
    assert fourth.status_code == 429 and fourth["Retry-After"] == "3600"
    settings.DOUDI_PORTAL_RATE_LIMITS = {
        "status": {"ip": (100, 3600), "id": (3, 3600), "tracking": (100, 3600)}
    }
    spaced = f"{number[:6]} {number[6:]}"
    assert _verify(client, applied, "000000", id_number_=spaced, REMOTE_ADDR="10.2.2.2").status_code == 429


def test_a_refused_status_check_keeps_what_was_typed(client, applied, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"status": {"tracking": (1, 3600)}}
    _verify(client, applied, "000000")
    limited = _verify(client, applied, "000000")
    page = limited.content.decode()
    assert limited.status_code == 429 and "操作过于频繁" in page
    assert f'value="{applied.tracking_number}"' in page and 'data-testid="status-form"' in page
