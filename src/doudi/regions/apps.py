from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "doudi.regions"
    verbose_name = "行政区划"
