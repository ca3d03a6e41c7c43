"""dsr: the domain engine of the 双随机、一公开 scheduler."""

__version__ = "0.1.0"
