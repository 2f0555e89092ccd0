"""Benchmarks and load harnesses; a package so gunicorn can import ``bench.sms.FileSender``."""
