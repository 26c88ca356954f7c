"""Write use-cases of the case layer: reports, cases, actions (the audit log) and appeals.

One transaction each. Content changes only through the owning app's services (targets.py);
people are told through `notify`, which delivers after commit; the banned-media hashing of a
removed video runs in a Celery task enqueued on commit.

One module a subject: `cases` (reports, opening and assigning cases), `claims`, `actions`,
`banned_media`, `appeals`; the checks they share are in `checks`. Reads (strikes in force,
the action a restore undoes) are in `moderation.selectors`, the windows and thresholds in
`moderation.limits`, what people read in `moderation.notices`.
"""

from moderation.services.actions import BulkResult, action_take, actions_take_bulk
from moderation.services.appeals import appeal_create, appeal_decide
from moderation.services.banned_media import ban_source, banned_media_add_for_action
from moderation.services.cases import case_assign, case_open_for_policy_review, report_create
from moderation.services.claims import case_claim, case_claim_next, case_release

__all__ = [
    "BulkResult",
    "action_take",
    "actions_take_bulk",
    "appeal_create",
    "appeal_decide",
    "ban_source",
    "banned_media_add_for_action",
    "case_assign",
    "case_claim",
    "case_claim_next",
    "case_open_for_policy_review",
    "case_release",
    "report_create",
]
