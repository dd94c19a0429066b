from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "doudi.verification"
    verbose_name = "经济状况核对"
