"""Funnels: ordered steps a property's visitors go through, counted by the query engine step by step.

The model is `reports.models.Funnel`; here are its writes (services.py), its reads and door
(selectors.py), its API (apis.py, openapi.py) and its section of the settings page (forms.py,
views.py); its page in the dashboard is `reports/views/funnels.py`. How the engine walks them:
`reports/queries/funnels.py`.
"""
