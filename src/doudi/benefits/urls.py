from django.urls import path

from doudi.benefits import views

app_name = "benefits"
urlpatterns = [
    path("", views.enrolment_list, name="list"),
    path("export/", views.enrolment_export, name="export"),
    path("recheck/", views.recheck_proposals, name="recheck_proposals"),
    path("recheck/<int:run>/apply/", views.apply_recheck, name="apply_recheck"),
    path("<int:pk>/", views.enrolment_detail, name="enrolment"),
    path("<int:pk>/<str:action>/", views.enrolment_action, name="enrolment_action"),
    path("<int:pk>/changes/<int:change>/notice/", views.change_notice, name="change_notice"),
]
