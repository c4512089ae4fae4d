"""Retention: of the people first seen in a day, week or month, how many came back in each one after.

Here are its API (apis.py, openapi.py); its page in the dashboard is `reports/views/retention.py`.
How the engine counts it: `reports/queries/retention.py`. (Not the deletion of old data, which is
`reports.services.retention_enforce`.)
"""

# What the API's answer and the page say about whom retention can follow.
IDENTITY = (
    "Retention follows people by their user id hash, else by a visitor id the site sends; cookieless visitors "
    "are counted for one day only, so they cannot return."
)
