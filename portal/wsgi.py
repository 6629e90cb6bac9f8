"""
WSGI config for portal project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

from portal.charset import Utf8OnlyApplication

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# A request that declares a charset other than UTF-8 is refused (portal.charset); the
# wrapper takes the charset out before Django would decode with it.
application = Utf8OnlyApplication(get_wsgi_application())
