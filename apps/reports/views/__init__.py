"""The reports app's pages: the property list (property_list.py), a property's dashboard and its
fragments (dashboard.py), its tables as CSV files (exports.py), and what they show (presentation.py).
Shared links open the same pages through their gate (apps/reports/shared_links/views.py)."""
