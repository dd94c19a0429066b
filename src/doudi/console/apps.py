from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "doudi.console"
    verbose_name = "工作台"
