"""doudi care …: the care app's daily jobs.

doudi care missing-reports [--date YYYY-MM-DD] [--region CODE]
    the active institutions without a daily report (机构日报) for the day, by district
doudi care overdue-contacts [--date YYYY-MM-DD] [--region CODE]
    the people whose contact (探访, 三(四)) is overdue, for their township and village
doudi care child-escalations [--region CODE]
    open reports of children without guardianship (三(二)) whose township or district
    acknowledgement is past its due hour (督办)
doudi care psych-aid-long-stays [--date YYYY-MM-DD] [--region CODE]
    offers psychological aid (五) to patients still in hospital past care.psych_aid.hospital_days
doudi care psych-aid-overdue [--date YYYY-MM-DD] [--region CODE]
    the psychological-aid offers (五) whose contact or follow-up is overdue, by township
"""

from __future__ import annotations

import datetime
from itertools import groupby

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.regions.models import Region


def _day(text: str | None) -> datetime.date:
    if not text:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("日期格式应为 YYYY-MM-DD：%(t)s") % {"t": text}) from None


def _region(code: str | None) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise CommandError(_("未找到区划代码 %(c)s") % {"c": code})
    return region


class Command(BaseCommand):
    help = "The care app's daily jobs: institutions missing today's report, overdue contacts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        m = sub.add_parser("missing-reports", help="institutions without a daily report for the day")
        m.add_argument("--date", help="YYYY-MM-DD (default: today)")
        m.add_argument("--region", help="a region code: only institutions under it")
        c = sub.add_parser(
            "overdue-contacts", help="people whose contact is overdue, by township and village"
        )
        c.add_argument("--date", help="YYYY-MM-DD (default: today)")
        c.add_argument("--region", help="a region code: only people under it")
        e = sub.add_parser("child-escalations", help="child reports acknowledged too late or not yet")
        e.add_argument("--region", help="a region code: only reports under it")
        h = sub.add_parser(
            "psych-aid-long-stays", help="offer aid to patients still in hospital past the line"
        )
        h.add_argument("--date", help="YYYY-MM-DD (default: today)")
        h.add_argument("--region", help="a region code: only people under it")
        p = sub.add_parser("psych-aid-overdue", help="psychological-aid offers whose follow-up is overdue")
        p.add_argument("--date", help="YYYY-MM-DD (default: today)")
        p.add_argument("--region", help="a region code: only offers under it")

    def handle(self, *args, action: str, **o):
        if action == "missing-reports":
            self._missing_reports(_day(o.get("date")), _region(o.get("region")))
        elif action == "overdue-contacts":
            self._overdue_contacts(_day(o.get("date")), _region(o.get("region")))
        elif action == "child-escalations":
            self._child_escalations(_region(o.get("region")))
        elif action == "psych-aid-long-stays":
            from doudi.care.services import offer_long_stays

            opened = offer_long_stays(_day(o.get("date")), region=_region(o.get("region")))
            self.stdout.write(_("长期住院心理援助转介：新开立 %(n)d 件") % {"n": len(opened)})
            for case in opened:
                self.stdout.write(f"  {case.tracking_number}  {case.region.name}  {case.display_name}")
        elif action == "psych-aid-overdue":
            self._psych_aid_overdue(_day(o.get("date")), _region(o.get("region")))

    def _missing_reports(self, day: datetime.date, region: Region | None) -> None:
        from doudi.care.selectors import district_of, missing_reports

        rows = list(missing_reports(day, region=region))
        self.stdout.write(_("%(day)s 未报送日报的机构：%(n)d 家") % {"day": day, "n": len(rows)})
        for district, group in groupby(rows, key=lambda i: district_of(i.region)):
            items = list(group)
            self.stdout.write(f"{getattr(district, 'name', '')}（{len(items)}）")
            for i in items:
                self.stdout.write(f"  {i.region.name}  {i.name}  {i.contact_name}")

    def _overdue_contacts(self, day: datetime.date, region: Region | None) -> None:
        from doudi.care.selectors import contact_schedule
        from doudi.core.masking import mask_id_number

        rows = contact_schedule(day, region=region, overdue_only=True)
        self.stdout.write(_("%(day)s 逾期未联系的探访对象：%(n)d 人") % {"day": day, "n": len(rows)})
        for township, by_township in groupby(rows, key=lambda r: r.township):
            t_rows = list(by_township)
            self.stdout.write(f"{getattr(township, 'name', '')}（{len(t_rows)}）")
            for village, by_village in groupby(t_rows, key=lambda r: r.village):
                v_rows = list(by_village)
                self.stdout.write(f"  {village.name}（{len(v_rows)}）")
                for r in v_rows:
                    self.stdout.write(
                        "    "
                        + _("%(name)s %(id)s %(cats)s 应于 %(due)s 联系，逾期 %(n)d 天")
                        % {
                            "name": r.person.name,
                            "id": mask_id_number(r.person.id_number),
                            "cats": r.category_labels,
                            "due": r.due,
                            "n": r.overdue_days,
                        }
                    )

    def _child_escalations(self, region: Region | None) -> None:
        from doudi.care.selectors import late_acknowledgements

        now = timezone.now()
        rows = late_acknowledgements(now, region=region)
        self.stdout.write(_("接报超时的无人监护儿童报告：%(n)d 件") % {"n": len(rows)})
        names = {"township": _("乡镇街道未按时接报"), "district": _("区县未按时接报")}
        for report, levels in rows:
            self.stdout.write(
                f"  {timezone.localtime(report.reported_at):%Y-%m-%d %H:%M}  {report.region.parent.name}"
                f" {report.region.name}  {report.child_name}  "
                + "、".join(str(names[level]) for level in levels)
            )

    def _psych_aid_overdue(self, day: datetime.date, region: Region | None) -> None:
        from doudi.care.selectors import overdue_psych_aid

        rows = sorted(
            overdue_psych_aid(day, region=region),
            key=lambda r: (getattr(r.township, "path", ""), r.village.path, r.due, r.offer.pk),
        )
        self.stdout.write(_("%(day)s 心理援助回访逾期：%(n)d 件") % {"day": day, "n": len(rows)})
        for township, group in groupby(rows, key=lambda r: r.township):
            items = list(group)
            self.stdout.write(f"{getattr(township, 'name', '')}（{len(items)}）")
            for r in items:
                self.stdout.write(
                    f"  {r.village.name}  {r.offer.case.tracking_number}  "
                    + _("%(who)s（%(trigger)s，%(state)s）应于 %(due)s 联系，逾期 %(n)d 天")
                    % {
                        "who": r.offer.case.display_name,
                        "trigger": r.offer.get_trigger_display(),
                        "state": r.offer.get_state_display(),
                        "due": r.due,
                        "n": r.overdue_days,
                    }
                )
