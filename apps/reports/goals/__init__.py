"""Goals: what a property's visitors are there to do, counted by the query engine as conversions.

The model is `reports.models.Goal`; here are its writes (services.py), its reads and door
(selectors.py), its API (apis.py) and its section of the settings page (forms.py, views.py). How
the engine counts them: `reports/queries/goals.py`.
"""
