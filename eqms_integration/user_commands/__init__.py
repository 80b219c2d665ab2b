"""Django's `createsuperuser` and `changepassword`, with their change in the audit trail.

An app of its own because a command is found in the first app of INSTALLED_APPS that has it:
this one is listed before django.contrib.auth, whose commands these extend."""
