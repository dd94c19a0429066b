from django.urls import path

from doudi.benefits import views

app_name = "benefits"
urlpatterns = [
    path("", views.enrolment_list, name="list"),
    path("export/", views.enrolment_export, name="export"),
]
