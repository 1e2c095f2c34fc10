"""The portal: server-rendered web pages in the same service as the API.

Public disclosure (search, lists, organisation profiles), the subject's own area (their
whole file, who looked, notices, objections, repair, downloads, a signed report) and the
transparency figures. Pages work without JavaScript; every page has a JSON twin under
``/v1/public`` or ``/v1/subjects``, served by the API from the same functions.
"""
