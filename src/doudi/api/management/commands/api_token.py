"""`doudi api_token create --user U [--name N]` | `revoke PREFIX` | `list [--user U]`.

The clear token is printed once, on creation; only its hash is stored.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.accounts.models import User
from doudi.api.models import ApiToken
from doudi.api.services import create_api_token, revoke_api_token


class Command(BaseCommand):
    help = "API tokens (接口令牌): create (printed once), revoke, list."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token for a staff user and print it once")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", default="", help="what the token is for (e.g. the calling system)")
        revoke = sub.add_parser("revoke", help="revoke a token by the prefix `list` shows")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", default="")
        listing = sub.add_parser("list", help="list tokens (prefix, user, created, last used, revoked)")
        listing.add_argument("--user", default=None)

    def handle(self, *args, **options):
        action = options["action"]
        if action == "create":
            try:
                user = User.objects.get(username=options["user"])
            except User.DoesNotExist:
                raise CommandError(f"no such user: {options['user']}") from None
            try:
                _, raw = create_api_token(user=user, name=options["name"])
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            self.stdout.write(raw)
            self.stderr.write("Store this token now: it cannot be shown again.")
        elif action == "revoke":
            matches = list(ApiToken.objects.filter(prefix=options["prefix"]))
            if len(matches) != 1:
                raise CommandError(
                    f"{len(matches)} tokens have the prefix {options['prefix']!r}; give one exactly"
                )
            revoke_api_token(token=matches[0], reason=options["reason"])
            self.stdout.write(f"revoked {matches[0].prefix}")
        else:
            tokens = ApiToken.objects.select_related("user").order_by("created_at", "pk")
            if options["user"]:
                tokens = tokens.filter(user__username=options["user"])
            for t in tokens:
                state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
                last = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
                self.stdout.write(
                    f"{t.prefix}\t{t.user.username}\t{t.name}\t{t.created_at:%Y-%m-%d}\t{last}\t{state}"
                )
