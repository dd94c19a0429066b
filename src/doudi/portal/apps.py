from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "doudi.portal"
    verbose_name = "群众服务"
