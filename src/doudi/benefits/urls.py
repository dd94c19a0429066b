from django.urls import path

from doudi.benefits import views

app_name = "benefits"
urlpatterns = [
    path("", views.enrolment_list, name="list"),
    path("export/", views.enrolment_export, name="export"),
    path("recheck/", views.recheck_proposals, name="recheck_proposals"),
    path("recheck/<int:run>/apply/", views.apply_recheck, name="apply_recheck"),
    path("window-end/", views.window_end_list, name="window_end_list"),
    path("window-end/prepare/", views.window_end_prepare, name="window_end_prepare"),
    path("window-end/<int:pk>/", views.window_end_detail, name="window_end"),
    path("window-end/<int:pk>/progress/", views.window_end_progress, name="window_end_progress"),
    path("window-end/<int:pk>/approve/", views.window_end_approve, name="window_end_approve"),
    path("window-end/<int:pk>/export/", views.window_end_export, name="window_end_export"),
    path("window-end/<int:pk>/items/<int:item>/notice/", views.window_end_notice, name="window_end_notice"),
    path("<int:pk>/", views.enrolment_detail, name="enrolment"),
    path("<int:pk>/<str:action>/", views.enrolment_action, name="enrolment_action"),
    path("<int:pk>/changes/<int:change>/notice/", views.change_notice, name="change_notice"),
]
