from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "doudi.api"
    verbose_name = "接口"
