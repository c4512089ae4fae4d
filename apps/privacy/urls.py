from django.urls import path

from apps.privacy.apis import SubjectAccessApi, SubjectEraseApi

urlpatterns = [
    path("v1/properties/<str:property_id>/subjects/erase", SubjectEraseApi.as_view(), name="subject-erase"),
    path("v1/properties/<str:property_id>/subjects/access", SubjectAccessApi.as_view(), name="subject-access"),
]
