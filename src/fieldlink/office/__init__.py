"""The staff web app at ``/office/`` (sign-in, appointments, customers, message log, SMS
inbox, technician day, settings, templates, dashboard) over the same services as ``/v1``."""
