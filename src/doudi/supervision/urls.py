from django.urls import path

from doudi.supervision import audit_views

app_name = "supervision"

urlpatterns: list = [
    # 审计日志查阅 (part 3)
    path("audit/", audit_views.search, name="audit_search"),
    path("audit/export/", audit_views.export, name="audit_export"),
    path("audit/readers/", audit_views.readers, name="audit_readers"),
    path("audit/unusual/", audit_views.unusual, name="audit_unusual"),
    path("audit/verify/", audit_views.verify, name="audit_verify"),
]
