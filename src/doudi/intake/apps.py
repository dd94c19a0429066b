from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "doudi.intake"
    verbose_name = "一门受理"
