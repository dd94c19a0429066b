from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "doudi.audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections

        from doudi.audit import pending

        request_started.connect(pending.request_started, dispatch_uid="doudi.audit.pending.started")
        # Chain the request's pending reads before Django closes the connection it would need.
        request_finished.disconnect(close_old_connections)
        request_finished.connect(pending.request_finished, dispatch_uid="doudi.audit.pending.finished")
        request_finished.connect(close_old_connections)
