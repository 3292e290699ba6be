"""The browser screens of a node: server-rendered Jinja2 pages in zh-CN.

Owns the login session (a cookie holding a local API token), CSRF protection on every
form, the page layout with navigation by role and the sync banner, and the HTML error
pages. The screens themselves live in ``pages_*`` modules: the public portal is on
every node; the tier packages mount the screens their roles use. Pages are thin:
they call the same action functions as the REST API.
"""
