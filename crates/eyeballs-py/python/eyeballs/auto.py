"""``import eyeballs.auto``: :func:`eyeballs.patch` at import, the zero-code-change way
(``python -c "import eyeballs.auto; ..."``, a ``sitecustomize`` or a ``.pth`` file): urllib3
(so ``requests``) and aiohappyeyeballs (so aiohttp) connect with Happy Eyeballs from then on.
``socket.create_connection`` is left alone; call ``eyeballs.patch(socket=True)`` for it."""

from . import patch

patch()
