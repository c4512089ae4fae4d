"""Journeys: where visits went after a page, goal or event (or came from before it), page by page.

Here are its API (apis.py, openapi.py); its page in the dashboard is `reports/views/journeys.py`.
How the engine walks them: `reports/queries/journeys.py`.
"""
