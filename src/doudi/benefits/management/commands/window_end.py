"""doudi window_end …: the end of the emergency window (疫情防控期结束) from the command line, with progress.

doudi window_end preview --region CODE --user USERNAME     prepare and compute the impact preview
doudi window_end approve --review ID --user USERNAME [--note T]   approve the user's district and apply
doudi window_end status --review ID                        the totals and the changes by kind
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.core.errors import Conflict
from doudi.core.progress import TerminalProgress


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


class Command(BaseCommand):
    help = "The end of the emergency window: the impact preview, its approval and the changes it applies."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("preview", help="prepare and compute the preview of a district or the city")
        p.add_argument("--region", required=True, help="a district code, or the city's")
        p.add_argument("--user", required=True)
        a = sub.add_parser("approve", help="approve the user's district part and apply its changes")
        a.add_argument("--review", type=int, required=True)
        a.add_argument("--user", required=True)
        a.add_argument("--note", default="")
        s = sub.add_parser("status", help="a preview's totals and changes")
        s.add_argument("--review", type=int, required=True)

    def handle(self, *args, action: str, **o):
        from doudi.accounts.models import User
        from doudi.benefits import services
        from doudi.benefits.models import WindowEndReview
        from doudi.regions.models import Region

        try:
            user = User.objects.get(username=o["user"]) if o.get("user") else None
        except User.DoesNotExist as exc:
            raise CommandError(f"no user {o['user']}") from exc
        try:
            if action == "preview":
                region = Region.objects.filter(code=o["region"]).first()
                if region is None:
                    raise CommandError(f"no region {o['region']}")
                progress = TerminalProgress(self.stdout)
                review = services.compute_window_end(
                    services.prepare_window_end(region=region, by=user), progress=progress
                )
                progress.done()
            else:
                review = WindowEndReview.objects.filter(pk=o["review"]).first()
                if review is None:
                    raise CommandError(f"no preview {o['review']}")
            if action == "approve":
                approval = services.approve_window_end(review=review, by=user, note=o["note"])
                progress = TerminalProgress(self.stdout)
                counts = services.apply_window_end(approval, progress=progress)
                progress.done()
                self.stdout.write(f"applied: {counts}")
                review.refresh_from_db()
        except (ValidationError, PermissionDenied, Conflict) as exc:
            raise CommandError(str(getattr(exc, "message_dict", None) or exc)) from exc
        self._status(review)

    def _status(self, review) -> None:
        summary = review.summary or {}
        self.stdout.write(
            f"preview {review.pk}: {review.region.name} window {review.window_start}..{review.window_end} "
            f"month {review.month:%Y-%m} {review.status}"
        )
        for scheme, t in (summary.get("totals") or {}).items():
            self.stdout.write(
                f"  {scheme:<14} before {t['before_households']:>7} hh {t['before_persons']:>8} p "
                f"{_yuan(t['before_fen']):>16}  after {t['after_households']:>7} hh {t['after_persons']:>8} p "
                f"{_yuan(t['after_fen']):>16}"
            )
        for kind, n in sorted((summary.get("counts") or {}).items()):
            self.stdout.write(f"  {kind:<12} {n}")
        if summary.get("excluded"):
            self.stdout.write(f"  still in the window: {', '.join(summary['excluded'])}")
