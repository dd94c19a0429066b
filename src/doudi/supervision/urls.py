from django.urls import path

from doudi.supervision import audit_views, views

app_name = "supervision"

urlpatterns: list = [
    # 问题线索 and 近亲属备案 (part 1)
    path("findings/", views.findings, name="findings"),
    path("findings/run/", views.run, name="run"),
    path("findings/<int:pk>/", views.finding, name="finding"),
    path("findings/<int:pk>/act/", views.act, name="act"),
    path("relatives/", views.relatives, name="relatives"),
    # 审计日志查阅 (part 3)
    path("audit/", audit_views.search, name="audit_search"),
    path("audit/export/", audit_views.export, name="audit_export"),
    path("audit/readers/", audit_views.readers, name="audit_readers"),
    path("audit/unusual/", audit_views.unusual, name="audit_unusual"),
    path("audit/verify/", audit_views.verify, name="audit_verify"),
]
