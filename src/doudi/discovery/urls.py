from django.urls import path

from doudi.discovery import views

app_name = "discovery"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("districts/", views.districts, name="districts"),
    path("districts.xlsx", views.districts_export, name="districts_export"),
    path("sweep/", views.request_sweep, name="sweep"),
    path("<int:pk>/", views.lead_detail, name="lead"),
    path("<int:pk>/contact/", views.lead_contact, name="contact"),
    path("<int:pk>/apply/", views.lead_apply, name="apply"),
    path("<int:pk>/dismiss/", views.lead_dismiss, name="dismiss"),
]
