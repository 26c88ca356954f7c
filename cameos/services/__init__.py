"""Write use-cases of the cameos app. One transaction each; side effects only after commit.

One module a subject: `creating` (challenge, upload), `consent` (settings, lists, revoke,
delete), `access_requests`, `characters` (rights holders, licences), `appearances`,
`royalties`, `by_moderation`; the checks they share are in `validation`. Verification itself
(the worker's heavy part) is in `cameos.verification`.

The use-cases are re-exported here: `from cameos import services` is the app's one write
interface.
"""

from cameos.services.access_requests import cameo_request_create, cameo_request_decide, cameo_request_withdraw
from cameos.services.appearances import appearance_record, appearance_remove
from cameos.services.by_moderation import cameo_disable_by_moderation, cameo_enable_by_moderation
from cameos.services.characters import character_licence_set, rights_holder_grant, rights_holder_revoke
from cameos.services.consent import (
    ConsentChange,
    cameo_access_remove,
    cameo_access_set,
    cameo_delete,
    cameo_revoke,
    cameo_update,
)
from cameos.services.creating import cameo_submit, challenge_create
from cameos.services.royalties import RoyaltyCharge, royalty_charge, royalty_quote, royalty_reverse

__all__ = [
    "ConsentChange",
    "RoyaltyCharge",
    "appearance_record",
    "appearance_remove",
    "cameo_access_remove",
    "cameo_access_set",
    "cameo_delete",
    "cameo_disable_by_moderation",
    "cameo_enable_by_moderation",
    "cameo_request_create",
    "cameo_request_decide",
    "cameo_request_withdraw",
    "cameo_revoke",
    "cameo_submit",
    "cameo_update",
    "challenge_create",
    "character_licence_set",
    "rights_holder_grant",
    "rights_holder_revoke",
    "royalty_charge",
    "royalty_quote",
    "royalty_reverse",
]
