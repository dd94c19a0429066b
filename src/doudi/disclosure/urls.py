from django.urls import path

from doudi.disclosure import views

app_name = "disclosure"
urlpatterns = [
    path("", views.public, name="public"),
    path("<int:pk>/objection/", views.objection, name="objection"),
    path("recipients/", views.recipients, name="recipients"),
]
