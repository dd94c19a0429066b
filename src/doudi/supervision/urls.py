from django.urls import path

from doudi.supervision import audit_views, views, whistle_views
from doudi.supervision import views_oversight as oversight

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
    # 举报受理 (part 4)
    path("whistle/", whistle_views.queue, name="whistle_queue"),
    path("whistle/export/", whistle_views.export, name="whistle_export"),
    path("whistle/<int:pk>/", whistle_views.detail, name="whistle_detail"),
    path("whistle/<int:pk>/assign/", whistle_views.assign, name="whistle_assign"),
    path("whistle/<int:pk>/conclude/", whistle_views.conclude, name="whistle_conclude"),
    # 监管看板, 督查, 资金拨付进度, 年度公告 (parts 2, 5, 6, 7)
    path("dashboard/", oversight.dashboard_view, name="dashboard"),
    path("dashboard/refresh/", oversight.refresh_view, name="refresh"),
    path("dashboard/<slug:kind>/", oversight.drill_view, name="drill"),
    path("inspection/", oversight.inspection_view, name="inspection"),
    path("inspection/draws/", oversight.draw_view, name="draw_new"),
    path("inspection/draws/<int:pk>/", oversight.draw_detail, name="draw"),
    path("annual/", oversight.annual_view, name="annual"),
    path("funds/", oversight.fund_progress, name="funds"),
    path("funds/allocations/", oversight.allocation_propose, name="allocation_propose"),
    path("funds/allocations/<int:pk>/decide/", oversight.allocation_decide, name="allocation_decide"),
]
