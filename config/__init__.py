"""One YAML file configures every Murmeli service; this package reads and validates it.

Each component declares its own section as a frozen dataclass of typed options
(``config.schema``); ``config.settings`` composes them and ``config.loader``
turns a file into validated settings, or one error line naming the key, the
file's line and what was expected.
"""
