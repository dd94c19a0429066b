from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "doudi.registry"
    verbose_name = "人员与家庭"
