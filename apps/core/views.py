"""Error pages: JSON under /v1/, Django's defaults elsewhere."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt


# Also the view of every unknown /v1/ path, whatever the method: exempt from CSRF, which would
# otherwise answer a signed-in POST there with Django's HTML 403 instead of this 404.
@csrf_exempt
def api_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/v1/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint."}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/v1/"):
        return JsonResponse({"error": {"code": "internal_error", "message": "Internal server error."}}, status=500)
    return defaults.server_error(request)
