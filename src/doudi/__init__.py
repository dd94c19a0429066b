"""doudi (兜底): a social-assistance platform for a civil-affairs bureau."""

__version__ = "0.1.0"
