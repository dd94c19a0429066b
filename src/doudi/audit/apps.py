from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "doudi.audit"
    verbose_name = "审计日志"
