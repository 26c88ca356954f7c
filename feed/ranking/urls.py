from django.urls import path

from feed.ranking import apis

# Feed endpoints (for-you, following, friends, latest, a cameo's posts), mounted under /api/v1/.
urlpatterns = [
    path("feed/for-you", apis.ForYouFeedApi.as_view(), name="feed-for-you"),
    path("feed/following", apis.FollowingFeedApi.as_view(), name="ranking-feed-following"),
    path("feed/friends", apis.FriendsFeedApi.as_view(), name="feed-friends"),
    path("feed/latest", apis.LatestFeedApi.as_view(), name="ranking-feed-latest"),
    path("feed/steering", apis.SteeringApi.as_view(), name="feed-steering"),
    path("feed/preferences", apis.FeedPreferenceApi.as_view(), name="feed-preferences"),
    path("cameos/<int:cameo_id>/posts", apis.CameoPostsApi.as_view(), name="cameo-posts"),
]
