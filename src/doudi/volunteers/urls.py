from django.urls import path

from doudi.volunteers import views

app_name = "volunteers"
urlpatterns = [
    path("", views.volunteer_list, name="list"),
    path("new/", views.volunteer_new, name="new"),
    path("<int:pk>/", views.volunteer_detail, name="detail"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/new/", views.organisation_new, name="organisation_new"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
    path("assign/arrangement/<int:pk>/", views.assign_arrangement, name="assign_arrangement"),
    path("assign/person/<int:pk>/", views.assign_contacts, name="assign_contacts"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
]
