"""Public .ics links: an owner publishes a calendar at a secret, revocable URL.

The URL has Radicale 3.9's token form, ``/.token/v1/<44 url-safe chars>/``
(264 random bits). ``links`` keeps one link per calendar, ``feed`` turns the
calendar's items into the served VCALENDAR (full, or busy times only),
``snapshot`` caches that rendering until the collection changes, and
``subscription`` answers subscribers' polls (ETag, Last-Modified, 304, gzip).
"""
