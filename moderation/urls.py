from django.urls import path

from moderation import apis

# REST endpoints of the moderation app, mounted under /api/v1/.
urlpatterns = [
    path("reports", apis.ReportListCreateApi.as_view(), name="reports"),
    path("moderation/decisions", apis.DecisionListApi.as_view(), name="moderation-decisions"),
    path("moderation/actions/<int:action_id>/appeal", apis.AppealCreateApi.as_view(), name="moderation-appeal"),
    path("moderation/cases", apis.CaseQueueApi.as_view(), name="moderation-cases"),
    path("moderation/cases/<int:case_id>", apis.CaseDetailApi.as_view(), name="moderation-case"),
    path("moderation/cases/<int:case_id>/actions", apis.CaseActionCreateApi.as_view(), name="moderation-case-actions"),
    path(
        "moderation/appeals/<int:appeal_id>/decision",
        apis.AppealDecisionApi.as_view(),
        name="moderation-appeal-decision",
    ),
    path("moderation/metrics", apis.MetricsApi.as_view(), name="moderation-metrics"),
]
