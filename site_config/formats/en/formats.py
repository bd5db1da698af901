"""The shop's one way of writing dates and times: admin lists, order pages, exports, e-mails.

``|date`` without an argument, ``{{ a_datetime }}`` and ``django.utils.formats.date_format``
all read these (FORMAT_MODULE_PATH in settings), so one change here changes them all. The
XLSX export turns ``SHORT_DATETIME_FORMAT`` into the cells' number format.
"""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
