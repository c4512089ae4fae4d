"""Shared links: a read-only dashboard behind a link (and a password, if set), for anyone who has it.

The model is `reports.models.SharedLink`; here are its writes (services.py), its reads and door
(selectors.py), its forms, and its pages: the settings page's section and the gate in front of the
dashboard's pages (views.py).
"""
