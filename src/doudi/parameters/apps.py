from django.apps import AppConfig


class ParametersConfig(AppConfig):
    name = "doudi.parameters"
    verbose_name = "政策参数"
