from django.urls import path

from doudi.regions import public_views

app_name = "hotlines"
urlpatterns = [
    path("", public_views.directory, name="directory"),
]
