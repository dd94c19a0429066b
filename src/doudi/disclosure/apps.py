from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "doudi.disclosure"
    verbose_name = "公示"
